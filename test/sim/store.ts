/**
 * The simulator's etcd: an in-memory object store with one global resourceVersion counter, optimistic
 * concurrency, and a bounded event history so watches can resume from a resourceVersion (or get 410 Gone).
 *
 * The API server (apiserver.ts) and the simulated controllers/kubelet both go through this store, exactly as
 * the real kube-apiserver and controller-manager share etcd; the HTTP layer adds validation, subresources and
 * patch semantics on top.
 */
import { EventEmitter } from "node:events";
import { randomUUID } from "node:crypto";

/** One kind the simulator serves. `key` ("apps/v1/deployments", "/v1/pods") identifies it everywhere. */
export interface ResourceType {
  group: string; // "" for the core group
  version: string;
  kind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  subresources?: Array<"status" | "scale">;
  shortNames?: string[];
  /** Discovery categories, e.g. "all" so that `kubectl get all` includes the kind. */
  categories?: string[];
  /** false for kinds whose real registry never sets `metadata.generation` (ConfigMap, Service, Namespace...). */
  tracksGeneration?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: Array<{
    apiVersion: string;
    kind: string;
    name: string;
    uid: string;
    controller?: boolean;
    blockOwnerDeletion?: boolean;
  }>;
  managedFields?: unknown[];
  generateName?: string;
  [k: string]: unknown;
}

export interface KObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [k: string]: unknown;
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

export interface StoreEvent {
  type: WatchEventType;
  typeKey: string;
  object: KObject;
  /** The global resourceVersion after this event, as a number for ordering. */
  rv: number;
}

/** A failure the API server turns into a `Status` body with this HTTP code and reason. */
export class StoreError extends Error {
  readonly code: number;
  readonly reason: string;
  constructor(code: number, reason: string, message: string) {
    super(message);
    this.code = code;
    this.reason = reason;
  }
}

export const typeKeyOf = (t: Pick<ResourceType, "group" | "version" | "plural">): string => `${t.group}/${t.version}/${t.plural}`;

const clone = <T>(v: T): T => structuredClone(v);

/** Fields that do not count as a spec change for `metadata.generation` (as on a real API server). */
const NON_SPEC_FIELDS = new Set(["metadata", "status", "apiVersion", "kind"]);

function specOf(obj: KObject): string {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (!NON_SPEC_FIELDS.has(k)) out[k] = v;
  return JSON.stringify(out);
}

export interface StoreOptions {
  /** How many events to keep for watch resumption; older resourceVersions get 410 Gone. */
  historySize?: number;
  /** Clock for timestamps (the simulator's scaled clock). */
  now?: () => Date;
}

export class Store {
  readonly types = new Map<string, ResourceType>();
  private readonly objects = new Map<string, Map<string, KObject>>(); // typeKey → "ns/name" → object
  private readonly history: StoreEvent[] = [];
  private readonly emitter = new EventEmitter();
  private rv = 1;
  private readonly historySize: number;
  private readonly now: () => Date;

  constructor(types: ResourceType[], opts: StoreOptions = {}) {
    for (const t of types) this.registerType(t);
    this.historySize = opts.historySize ?? 10_000;
    this.now = opts.now ?? (() => new Date());
    this.emitter.setMaxListeners(0);
  }

  registerType(t: ResourceType): void {
    const key = typeKeyOf(t);
    this.types.set(key, t);
    if (!this.objects.has(key)) this.objects.set(key, new Map());
  }

  type(typeKey: string): ResourceType {
    const t = this.types.get(typeKey);
    if (!t) throw new StoreError(404, "NotFound", `the server could not find the requested resource (${typeKey})`);
    return t;
  }

  /** The current global resourceVersion (what a list returns). */
  resourceVersion(): string {
    return String(this.rv);
  }

  /** The oldest resourceVersion a watch may still resume from. */
  oldestResumableVersion(): number {
    return this.history.length ? this.history[0]!.rv - 1 : this.rv;
  }

  get(typeKey: string, namespace: string | undefined, name: string): KObject | undefined {
    const o = this.bucket(typeKey).get(this.id(typeKey, namespace, name));
    return o && clone(o);
  }

  /** Objects of a type, in one namespace or all (namespace undefined), sorted by namespace then name. */
  list(typeKey: string, namespace?: string): { items: KObject[]; resourceVersion: string } {
    const items = [...this.bucket(typeKey).values()]
      .filter((o) => namespace === undefined || o.metadata.namespace === namespace)
      .sort((a, b) => `${a.metadata.namespace ?? ""}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace ?? ""}/${b.metadata.name}`))
      .map(clone);
    return { items, resourceVersion: this.resourceVersion() };
  }

  create(typeKey: string, input: KObject): KObject {
    const t = this.type(typeKey);
    const obj = clone(input);
    const meta = obj.metadata ?? ({} as ObjectMeta);
    obj.metadata = meta;
    if (!meta.name && meta.generateName) meta.name = meta.generateName + randomUUID().slice(0, 5);
    if (!meta.name)
      throw new StoreError(422, "Invalid", `${t.kind} "" is invalid: metadata.name: Required value: name or generateName is required`);
    if (t.namespaced && !meta.namespace) meta.namespace = "default";
    if (!t.namespaced) delete meta.namespace;
    const id = this.id(typeKey, meta.namespace, meta.name);
    if (this.bucket(typeKey).has(id)) {
      throw new StoreError(409, "AlreadyExists", `${t.plural}${t.group ? "." + t.group : ""} "${meta.name}" already exists`);
    }
    meta.uid = randomUUID();
    meta.creationTimestamp = this.timestamp();
    if (t.tracksGeneration === false) delete meta.generation;
    else meta.generation = 1;
    meta.resourceVersion = String(++this.rv);
    this.bucket(typeKey).set(id, obj);
    this.record("ADDED", typeKey, obj);
    return clone(obj);
  }

  /**
   * Replace an object. With `metadata.resourceVersion` set, it must match the stored one (409 Conflict
   * otherwise), as on a real API server; without it the update is unconditional.
   */
  update(typeKey: string, input: KObject): KObject {
    const t = this.type(typeKey);
    const obj = clone(input);
    const id = this.id(typeKey, obj.metadata.namespace, obj.metadata.name);
    const current = this.bucket(typeKey).get(id);
    if (!current) throw this.notFound(t, obj.metadata.name);
    if (obj.metadata.resourceVersion && obj.metadata.resourceVersion !== current.metadata.resourceVersion) {
      throw new StoreError(
        409,
        "Conflict",
        `Operation cannot be fulfilled on ${t.plural}${t.group ? "." + t.group : ""} "${obj.metadata.name}": ` +
          `the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
    // Immutable bookkeeping stays the server's.
    obj.metadata.uid = current.metadata.uid;
    obj.metadata.creationTimestamp = current.metadata.creationTimestamp;
    if (t.tracksGeneration === false) delete obj.metadata.generation;
    else obj.metadata.generation = (current.metadata.generation ?? 1) + (specOf(obj) !== specOf(current) ? 1 : 0);
    if (
      JSON.stringify({ ...obj, metadata: { ...obj.metadata, resourceVersion: undefined } }) ===
      JSON.stringify({ ...current, metadata: { ...current.metadata, resourceVersion: undefined } })
    ) {
      return clone(current); // a no-op update does not bump resourceVersion or notify watchers
    }
    obj.metadata.resourceVersion = String(++this.rv);
    this.bucket(typeKey).set(id, obj);
    this.record("MODIFIED", typeKey, obj);
    return clone(obj);
  }

  /** Read-modify-write with retry on conflict: the convenience the simulated controllers use. */
  mutate(typeKey: string, namespace: string | undefined, name: string, fn: (o: KObject) => void): KObject | undefined {
    const current = this.get(typeKey, namespace, name);
    if (!current) return undefined;
    fn(current);
    return this.update(typeKey, current); // single-threaded: the read above is still current
  }

  delete(typeKey: string, namespace: string | undefined, name: string): KObject {
    const t = this.type(typeKey);
    const id = this.id(typeKey, namespace, name);
    const current = this.bucket(typeKey).get(id);
    if (!current) throw this.notFound(t, name);
    this.bucket(typeKey).delete(id);
    current.metadata.resourceVersion = String(++this.rv);
    this.record("DELETED", typeKey, current);
    return clone(current);
  }

  /**
   * Subscribe to changes of one type (optionally one namespace). With `sinceRV`, events after that version are
   * replayed first; a version older than the kept history throws 410 Expired ("too old resource version").
   */
  watch(typeKey: string, namespace: string | undefined, sinceRV: number | undefined, onEvent: (e: StoreEvent) => void): () => void {
    this.type(typeKey);
    const matches = (e: StoreEvent) => e.typeKey === typeKey && (namespace === undefined || e.object.metadata.namespace === namespace);
    if (sinceRV !== undefined && sinceRV > 0) {
      if (sinceRV < this.oldestResumableVersion()) {
        throw new StoreError(410, "Expired", `too old resource version: ${sinceRV} (${this.oldestResumableVersion()})`);
      }
      for (const e of this.history) if (e.rv > sinceRV && matches(e)) onEvent({ ...e, object: clone(e.object) });
    }
    const listener = (e: StoreEvent) => {
      if (matches(e)) onEvent({ ...e, object: clone(e.object) });
    };
    this.emitter.on("event", listener);
    return () => this.emitter.off("event", listener);
  }

  private record(type: WatchEventType, typeKey: string, obj: KObject): void {
    const e: StoreEvent = { type, typeKey, object: clone(obj), rv: this.rv };
    this.history.push(e);
    if (this.history.length > this.historySize) this.history.shift();
    this.emitter.emit("event", e);
  }

  /** The store clock as an RFC 3339 timestamp with second precision (what metadata timestamps use). */
  timestamp(): string {
    return this.now()
      .toISOString()
      .replace(/\.\d{3}Z$/, "Z");
  }

  private bucket(typeKey: string): Map<string, KObject> {
    this.type(typeKey);
    return this.objects.get(typeKey)!;
  }

  private id(typeKey: string, namespace: string | undefined, name: string): string {
    return this.types.get(typeKey)?.namespaced ? `${namespace ?? "default"}/${name}` : name;
  }

  private notFound(t: ResourceType, name: string): StoreError {
    return new StoreError(404, "NotFound", `${t.plural}${t.group ? "." + t.group : ""} "${name}" not found`);
  }
}
