/**
 * Decoding of the Kubernetes protobuf encoding (`application/vnd.kubernetes.protobuf`) for the few kinds
 * kubectl's typed-client commands create: `kubectl create namespace|configmap|secret` send protobuf bodies
 * (the "k8s\0" magic, then a runtime.Unknown envelope wrapping the object). Field numbers are those of
 * k8s.io/api core/v1 and k8s.io/apimachinery meta/v1 generated.proto. Other kinds are refused with 415.
 */
import protobuf from "protobufjs";
import type { KObject } from "../store.ts";
import { badRequest, unsupportedMediaType } from "../api/status.ts";

export const PROTOBUF = "application/vnd.kubernetes.protobuf";
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

type Reader = protobuf.Reader;
type FieldHandler = (r: Reader, wireType: number) => void;

/** Read one message, dispatching each field number to its handler and skipping unknown ones. */
function readMessage(r: Reader, end: number, fields: Record<number, FieldHandler>): void {
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wireType = tag & 7;
    const handler = fields[field];
    if (handler) handler(r, wireType);
    else r.skipType(wireType);
  }
}

const sub = (r: Reader, fields: Record<number, FieldHandler>) => {
  const len = r.uint32();
  readMessage(r, r.pos + len, fields);
};

function mapEntry<V>(r: Reader, readValue: (r: Reader) => V): [string, V | undefined] {
  let key = "";
  let value: V | undefined;
  sub(r, { 1: (x) => (key = x.string()), 2: (x) => (value = readValue(x)) });
  return [key, value];
}

function objectMeta(r: Reader): KObject["metadata"] {
  const m: KObject["metadata"] = { name: "" };
  const labels: Record<string, string> = {};
  const annotations: Record<string, string> = {};
  const finalizers: string[] = [];
  const owners: NonNullable<KObject["metadata"]["ownerReferences"]> = [];
  sub(r, {
    1: (x) => (m.name = x.string()),
    2: (x) => (m.generateName = x.string()),
    3: (x) => (m.namespace = x.string()),
    11: (x) => {
      const [k, v] = mapEntry(x, (y) => y.string());
      labels[k] = v ?? "";
    },
    12: (x) => {
      const [k, v] = mapEntry(x, (y) => y.string());
      annotations[k] = v ?? "";
    },
    13: (x) => {
      const o = { apiVersion: "", kind: "", name: "", uid: "" } as (typeof owners)[number];
      sub(x, {
        1: (y) => (o.kind = y.string()),
        3: (y) => (o.name = y.string()),
        4: (y) => (o.uid = y.string()),
        5: (y) => (o.apiVersion = y.string()),
        6: (y) => (o.controller = y.bool()),
        7: (y) => (o.blockOwnerDeletion = y.bool()),
      });
      owners.push(o);
    },
    14: (x) => finalizers.push(x.string()),
  });
  if (!m.generateName) delete m.generateName;
  if (!m.namespace) delete m.namespace;
  if (Object.keys(labels).length) m.labels = labels;
  if (Object.keys(annotations).length) m.annotations = annotations;
  if (finalizers.length) m.finalizers = finalizers;
  if (owners.length) m.ownerReferences = owners;
  return m;
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");

/** Decoders of the object bytes, by "apiVersion/kind". */
const KINDS: Record<string, (r: Reader, end: number, o: KObject) => void> = {
  "v1/Namespace": (r, end, o) => {
    const finalizers: string[] = [];
    readMessage(r, end, { 1: (x) => (o.metadata = objectMeta(x)), 2: (x) => sub(x, { 1: (y) => finalizers.push(y.string()) }) });
    if (finalizers.length) o.spec = { finalizers };
  },
  "v1/ConfigMap": (r, end, o) => {
    const data: Record<string, string> = {};
    const binaryData: Record<string, string> = {};
    readMessage(r, end, {
      1: (x) => (o.metadata = objectMeta(x)),
      2: (x) => {
        const [k, v] = mapEntry(x, (y) => y.string());
        data[k] = v ?? "";
      },
      3: (x) => {
        const [k, v] = mapEntry(x, (y) => y.bytes());
        binaryData[k] = b64(v ?? new Uint8Array());
      },
      4: (x) => (o.immutable = x.bool()),
    });
    if (Object.keys(data).length) o.data = data;
    if (Object.keys(binaryData).length) o.binaryData = binaryData;
  },
  "v1/Secret": (r, end, o) => {
    const data: Record<string, string> = {};
    const stringData: Record<string, string> = {};
    readMessage(r, end, {
      1: (x) => (o.metadata = objectMeta(x)),
      2: (x) => {
        const [k, v] = mapEntry(x, (y) => y.bytes());
        data[k] = b64(v ?? new Uint8Array());
      },
      3: (x) => (o.type = x.string()),
      4: (x) => {
        const [k, v] = mapEntry(x, (y) => y.string());
        stringData[k] = v ?? "";
      },
      5: (x) => (o.immutable = x.bool()),
    });
    if (Object.keys(data).length) o.data = data;
    if (Object.keys(stringData).length) o.stringData = stringData;
  },
};

export const PROTOBUF_KINDS = Object.keys(KINDS);

/** Decode a protobuf request body into the JSON object it encodes; 415 for kinds not covered, 400 for garbage. */
export function decodeProtobufObject(body: Buffer): KObject {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) throw badRequest("the protobuf body does not start with the k8s magic number");
  let apiVersion = "";
  let kind = "";
  let raw: Uint8Array | undefined;
  try {
    const r = protobuf.Reader.create(body.subarray(4));
    readMessage(r, r.len, {
      1: (x) => sub(x, { 1: (y) => (apiVersion = y.string()), 2: (y) => (kind = y.string()) }),
      2: (x) => (raw = x.bytes()),
    });
  } catch (e) {
    throw badRequest(`the protobuf body could not be decoded: ${e instanceof Error ? e.message : String(e)}`);
  }
  const decode = KINDS[`${apiVersion}/${kind}`];
  if (!decode || !raw) throw unsupportedMediaType(["application/json", "application/yaml"]);
  const o: KObject = { apiVersion, kind, metadata: { name: "" } };
  try {
    const r = protobuf.Reader.create(raw);
    decode(r, r.len, o);
  } catch (e) {
    throw badRequest(`the protobuf body could not be decoded: ${e instanceof Error ? e.message : String(e)}`);
  }
  return o;
}
