/**
 * Applying manifests to the rehearsal's cluster by server-side apply, as `kubectl apply --server-side` does:
 * Namespaces and CRDs first, then, once the CRDs are established, everything else in file order. Writes that fail
 * because the cluster is still settling (a CRD's kind not served yet, an admission webhook not answering yet) are
 * retried until a deadline; anything else fails at once, naming the object.
 *
 * The object goes to the API server exactly as the manifest has it. client-node's KubernetesObjectApi.patch would
 * first pass it through its typed models, which drop every key whose JSON name differs from the model's property
 * (a CRD schema's `x-kubernetes-*`, `default`, `enum`, `$ref`…); so the request is made here, with client-node
 * resolving the resource (discovery) and applying the kubeconfig's TLS and credentials.
 */
import { request as httpsRequest, type RequestOptions } from "node:https";
import { request as httpRequest } from "node:http";
import type * as k8s from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { UsageError } from "../errors.ts";
import type { Kube } from "../kube/client.ts";
import { waitUntil, type Look } from "./wait.ts";

export interface Manifest extends k8s.KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: k8s.V1ObjectMeta & { name: string };
}

/** Every object of a multi-document YAML text (empty documents skipped), each checked to be one. */
export function parseManifests(text: string, source: string): Manifest[] {
  const out: Manifest[] = [];
  parseAllDocuments(text).forEach((doc, i) => {
    if (doc.errors.length) throw new UsageError(`${source}: document ${i + 1} is not valid YAML: ${doc.errors[0].message.split("\n")[0]}`);
    const o = doc.toJS() as Partial<Manifest> | null;
    if (o === null || o === undefined) return;
    if (typeof o.apiVersion !== "string" || typeof o.kind !== "string" || typeof o.metadata?.name !== "string") {
      throw new UsageError(`${source}: document ${i + 1} is not a Kubernetes object (apiVersion, kind and metadata.name)`);
    }
    out.push(o as Manifest);
  });
  return out;
}

export const describeObject = (o: Manifest) => `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata.name}`;

const FIRST = new Set(["Namespace", "CustomResourceDefinition"]);

/** Messages of writes worth retrying while a freshly installed component settles. */
const SETTLING = new RegExp(
  [
    "no matches for kind",
    "could not find the requested resource",
    "failed calling webhook",
    "connection refused",
    "no endpoints available",
    "service unavailable",
    "the server could not find",
    "is not found in the API",
  ].join("|"),
  "i",
);

export interface ApplyOptions {
  fieldManager: string;
  /** How long a write may keep failing while the cluster settles. */
  settleTimeoutMs?: number;
  log?: (line: string) => void;
}

/** An API server's refusal: its HTTP status and its own message. */
export class ApiError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.name = "ApiError";
    this.code = code;
  }
}

/** The request path of server-side applying `o` (resolved by discovery), with the field manager, forcing conflicts. */
export async function applyPath(kube: Pick<Kube, "objects">, o: Manifest, fieldManager: string): Promise<string> {
  // client-node's own discovery, with its cache (protected there, so reached this way, as kube/client.ts does).
  const discovery = kube.objects as unknown as { resource(apiVersion: string, kind: string): Promise<k8s.V1APIResource | undefined> };
  const resource = await discovery.resource(o.apiVersion, o.kind);
  if (!resource) throw new ApiError(404, `no matches for kind ${o.kind} in version ${o.apiVersion}`);
  const [group, version] = o.apiVersion.includes("/") ? o.apiVersion.split("/") : ["", o.apiVersion];
  const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
  const ns = resource.namespaced ? `/namespaces/${encodeURIComponent(o.metadata.namespace ?? "default")}` : "";
  const query = new URLSearchParams({ fieldManager, force: "true" });
  return `${base}${ns}/${resource.name}/${encodeURIComponent(o.metadata.name)}?${query}`;
}

/** One server-side apply of `o`, its body the manifest's own JSON. */
export async function serverSideApply(kube: Pick<Kube, "kc" | "objects">, o: Manifest, fieldManager: string): Promise<void> {
  const url = new URL(await applyPath(kube, o, fieldManager), kube.kc.getCurrentCluster()!.server);
  const body = JSON.stringify(o);
  const options: RequestOptions = {
    method: "PATCH",
    headers: { "Content-Type": "application/apply-patch+yaml", Accept: "application/json", "Content-Length": Buffer.byteLength(body) },
    timeout: 30_000,
  };
  await kube.kc.applyToHTTPSOptions(options);
  await new Promise<void>((resolve, reject) => {
    const req = (url.protocol === "https:" ? httpsRequest : httpRequest)(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) return resolve();
        const text = Buffer.concat(chunks).toString();
        let message = text;
        try {
          message = (JSON.parse(text) as { message?: string }).message ?? text;
        } catch {
          // not a Status object: its text
        }
        reject(new ApiError(status, `HTTP ${status}: ${message.split("\n")[0]}`));
      });
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer from the API server in 30s`)));
    req.on("error", reject);
    req.end(body);
  });
}

async function applyOne(kube: Kube, o: Manifest, opts: ApplyOptions): Promise<void> {
  await waitUntil<true>(
    `applying ${describeObject(o)}`,
    async (): Promise<Look<true>> => {
      try {
        await serverSideApply(kube, o, opts.fieldManager);
        return { done: true, value: true };
      } catch (err) {
        const message = apiMessage(err);
        if (SETTLING.test(message)) return { done: false, why: message };
        throw new Error(`applying ${describeObject(o)} failed: ${message}`, { cause: err });
      }
    },
    { timeoutMs: opts.settleTimeoutMs ?? 120_000, intervalMs: 2_000 },
  );
}

/** Applies `objects` (Namespaces and CRDs first, then the rest once the CRDs are established). */
export async function applyManifests(kube: Kube, objects: Manifest[], opts: ApplyOptions): Promise<void> {
  const first = objects.filter((o) => FIRST.has(o.kind));
  const rest = objects.filter((o) => !FIRST.has(o.kind));
  for (const o of first) await applyOne(kube, o, opts);
  const crds = first.filter((o) => o.kind === "CustomResourceDefinition");
  if (crds.length) {
    opts.log?.(`waiting for ${crds.length} CRDs to be established`);
    for (const crd of crds) {
      await waitUntil(
        `CRD ${crd.metadata.name} established`,
        async (): Promise<Look<true>> => {
          const live = (await kube.objects.read({ apiVersion: crd.apiVersion, kind: crd.kind, metadata: { name: crd.metadata.name } })) as {
            status?: { conditions?: Array<{ type: string; status: string }> };
          };
          const ok = live.status?.conditions?.some((c) => c.type === "Established" && c.status === "True");
          return ok ? { done: true, value: true } : { done: false, why: "not Established yet" };
        },
        { timeoutMs: 60_000, intervalMs: 1_000 },
      );
    }
  }
  for (const o of rest) await applyOne(kube, o, opts);
}

/** The API server's own message for a failed call (client-node's ApiException carries it in its body). */
export function apiMessage(err: unknown): string {
  const e = err as { body?: unknown; message?: string; code?: number };
  let body: unknown = e.body;
  if (typeof body === "string") {
    try {
      body = JSON.parse(body);
    } catch {
      // not JSON: use the text
    }
  }
  const m =
    (body as { message?: string } | undefined)?.message ?? (typeof body === "string" ? body : undefined) ?? e.message ?? String(err);
  return String(m).split("\n")[0];
}

type Condition = { type: string; status: string; reason?: string; message?: string };

/** Every Deployment in `namespace` Available with all its pods updated, and every Job there complete. */
export async function waitForWorkloads(kube: Kube, namespace: string, timeoutMs: number): Promise<void> {
  await waitUntil(
    `the workloads of namespace ${namespace} ready`,
    async (): Promise<Look<true>> => {
      const [deployments, jobs] = await Promise.all([
        kube.apps.listNamespacedDeployment({ namespace }),
        kube.objects.list("batch/v1", "Job", namespace) as Promise<{
          items: Array<{ metadata?: { name?: string }; status?: { succeeded?: number; conditions?: Condition[] } }>;
        }>,
      ]);
      if (deployments.items.length === 0) return { done: false, why: "no Deployment yet" };
      const waiting: string[] = [];
      for (const d of deployments.items) {
        const available = d.status?.conditions?.some((c) => c.type === "Available" && c.status === "True");
        const want = d.spec?.replicas ?? 1;
        if (!available || (d.status?.updatedReplicas ?? 0) < want || (d.status?.availableReplicas ?? 0) < want) {
          waiting.push(`deployment ${d.metadata?.name} ${d.status?.availableReplicas ?? 0}/${want} available`);
        }
      }
      for (const j of jobs.items) {
        const failed = j.status?.conditions?.find((c) => c.type === "Failed" && c.status === "True");
        if (failed) throw new Error(`job ${j.metadata?.name} failed: ${failed.reason ?? ""} ${failed.message ?? ""}`.trim());
        if (!(j.status?.succeeded && j.status.succeeded > 0)) waiting.push(`job ${j.metadata?.name} not complete`);
      }
      return waiting.length ? { done: false, why: waiting.join(", ") } : { done: true, value: true };
    },
    { timeoutMs, intervalMs: 2_000 },
  );
}

/** Deletes `namespace` (if there) and waits until it is gone, so what follows starts from nothing. */
export async function deleteNamespace(kube: Kube, namespace: string, timeoutMs: number): Promise<boolean> {
  try {
    await kube.core.deleteNamespace({ name: namespace });
  } catch (err) {
    if ((err as { code?: number }).code === 404) return false;
    throw err;
  }
  await waitUntil(
    `namespace ${namespace} deleted`,
    async (): Promise<Look<true>> => {
      try {
        const ns = await kube.core.readNamespace({ name: namespace });
        return { done: false, why: `still ${ns.status?.phase ?? "there"}` };
      } catch (err) {
        if ((err as { code?: number }).code === 404) return { done: true, value: true };
        throw err;
      }
    },
    { timeoutMs, intervalMs: 1_000 },
  );
  return true;
}

export async function namespaceExists(kube: Kube, namespace: string): Promise<boolean> {
  try {
    await kube.core.readNamespace({ name: namespace });
    return true;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return false;
    throw err;
  }
}
