/**
 * The resource verbs: get, list, create, update, patch (json, merge, strategic, apply), delete and
 * deletecollection, with the real API server's rules for subresources (status, scale), dry runs, defaulting,
 * validation, managed fields, owner-reference garbage collection and namespace existence.
 */
import { randomUUID } from "node:crypto";
import { parse as parseYaml } from "yaml";
import type { KObject, ResourceType, Store } from "../store.ts";
import { StoreError } from "../store.ts";
import type { ResourceRequest } from "./routing.ts";
import {
  ApiError,
  alreadyExists,
  badRequest,
  conflict,
  namespaceNotFound,
  notFound,
  successStatus,
  unsupportedMediaType,
} from "./status.ts";
import { matchesFields, matchesRequirements, parseFieldSelector, parseLabelSelector } from "./selectors.ts";
import { validateObject } from "./validation.ts";
import { applyDefaults } from "./defaults.ts";
import { applyScale, scaleOf } from "./scale.ts";
import { applyJsonPatch } from "../patch/json.ts";
import { applyMergePatch } from "../patch/merge.ts";
import { applyStrategicMergePatch } from "../patch/strategic.ts";
import { recordUpdate, serverSideApply } from "../kubectl-compat/managed-fields.ts";
import { isCustomResource } from "../resources.ts";

export interface RequestContext {
  query: URLSearchParams;
  userAgent: string;
}

export interface Response {
  code: number;
  body: unknown;
}

const PATCH_TYPES = {
  json: "application/json-patch+json",
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  apply: "application/apply-patch+yaml",
};

/** Kinds whose DELETE answers with the deleted object rather than a Status (upstream `ReturnDeletedObject`). */
const RETURNS_DELETED_OBJECT = new Set(["/Pod", "/Service", "/Namespace"]);

const apiVersionOf = (t: ResourceType) => (t.group ? `${t.group}/${t.version}` : t.version);
const hasStatus = (t: ResourceType) => (t.subresources ?? []).includes("status");
const isDryRun = (q: URLSearchParams) => q.getAll("dryRun").includes("All");

function fieldManager(ctx: RequestContext): string {
  const m = ctx.query.get("fieldManager");
  if (m) return m;
  return ctx.userAgent.split("/")[0]!.slice(0, 128) || "unknown";
}

/** Media types this server decodes for create and update (no protobuf or CBOR: see the module's README notes). */
const OBJECT_TYPES = ["application/json", "application/yaml"];

/** Decode a create/update body, refusing what the server cannot read with 415 as kube-apiserver does. */
function parseObjectBody(raw: string, contentType: string): unknown {
  const mediaType = contentType.split(";")[0]!.trim() || "application/json";
  if (!OBJECT_TYPES.includes(mediaType)) throw unsupportedMediaType(OBJECT_TYPES);
  return parseBody(raw, mediaType);
}

function parseBody(raw: string, mediaType: string): unknown {
  if (raw.trim() === "") throw badRequest("the body of the request was empty");
  try {
    return mediaType === PATCH_TYPES.apply || mediaType === "application/yaml" ? parseYaml(raw) : JSON.parse(raw);
  } catch (e) {
    throw badRequest(`the body of the request could not be decoded: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
  }
}

function asObject(t: ResourceType, body: unknown): KObject {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw badRequest(`the object provided is unrecognized (must be of type ${t.kind})`);
  const o = body as KObject;
  o.metadata = (o.metadata ?? {}) as KObject["metadata"];
  if (typeof o.metadata !== "object" || o.metadata === null) throw badRequest("metadata must be an object");
  return o;
}

/** The server-side clean-up of everything after a write, shared by create/update/patch. */
export class ResourceHandlers {
  private readonly store: Store;
  constructor(store: Store) {
    this.store = store;
  }

  private now(): string {
    return this.store.timestamp();
  }

  private checkTypeMeta(t: ResourceType, o: KObject): void {
    const want = apiVersionOf(t);
    if (o.apiVersion !== undefined && o.apiVersion !== want) {
      throw badRequest(`the API version in the data (${o.apiVersion}) does not match the expected API version (${want})`);
    }
    if (o.kind !== undefined && o.kind !== t.kind)
      throw badRequest(`the kind in the data (${o.kind}) does not match the expected kind (${t.kind})`);
    o.apiVersion = want;
    o.kind = t.kind;
  }

  private checkNamespace(req: ResourceRequest, o: KObject): void {
    if (!req.type.namespaced) {
      delete o.metadata.namespace;
      return;
    }
    if (o.metadata.namespace && req.namespace && o.metadata.namespace !== req.namespace) {
      throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
    }
    o.metadata.namespace = req.namespace ?? o.metadata.namespace ?? "default";
  }

  private requireNamespace(ns: string | undefined): void {
    if (ns !== undefined && !this.store.get("/v1/namespaces", undefined, ns)) throw namespaceNotFound(ns);
  }

  private current(req: ResourceRequest): KObject {
    const o = this.store.get(req.typeKey, req.namespace, req.name!);
    if (!o) throw notFound(req.type, req.name!);
    return o;
  }

  /** Persist `next` as an update of `current` (or a dry run of it), applying the update rules. */
  private write(req: ResourceRequest, current: KObject, next: KObject, ctx: RequestContext, manager: string, track = true): KObject {
    const t = req.type;
    this.checkTypeMeta(t, next);
    if (next.metadata.name !== current.metadata.name) {
      throw badRequest(`the name of the object (${next.metadata.name}) does not match the name on the URL (${current.metadata.name})`);
    }
    this.checkNamespace(req, next);
    // Bookkeeping stays the server's; a resourceVersion in the request is a precondition.
    const meta = next.metadata as Record<string, unknown>;
    for (const k of ["uid", "creationTimestamp", "generation", "deletionTimestamp", "deletionGracePeriodSeconds"]) {
      meta[k] = current.metadata[k];
      if (meta[k] === undefined) delete meta[k];
    }
    if (next.metadata.resourceVersion && next.metadata.resourceVersion !== current.metadata.resourceVersion)
      throw conflict(t, current.metadata.name);
    if (req.subresource === "status") {
      const merged = structuredClone(current);
      merged.status = next.status;
      merged.metadata.resourceVersion = next.metadata.resourceVersion;
      merged.metadata.managedFields = next.metadata.managedFields;
      next = merged;
    } else if (hasStatus(t)) {
      next.status = current.status;
      if (next.status === undefined) delete next.status;
    }
    applyDefaults(next, this.store);
    validateObject(t, next, current);
    if (track) {
      if (!next.metadata.managedFields) next.metadata.managedFields = current.metadata.managedFields;
      recordUpdate(t, current, next, manager, this.now(), req.subresource);
    }
    if (isDryRun(ctx.query)) return next;
    // A removed last finalizer completes a pending deletion.
    if (next.metadata.deletionTimestamp && !(next.metadata.finalizers as string[] | undefined)?.length) {
      return this.store.delete(req.typeKey, current.metadata.namespace, current.metadata.name);
    }
    return this.store.update(req.typeKey, { ...next, metadata: { ...next.metadata, resourceVersion: current.metadata.resourceVersion } });
  }

  get(req: ResourceRequest): Response {
    const o = this.current(req);
    return { code: 200, body: req.subresource === "scale" ? scaleOf(o) : o };
  }

  list(req: ResourceRequest, ctx: RequestContext): Response {
    const { items, resourceVersion } = this.filtered(req, ctx.query);
    const limit = Number(ctx.query.get("limit") ?? 0);
    const start = ctx.query.get("continue") ? Number(Buffer.from(ctx.query.get("continue")!, "base64url").toString()) : 0;
    if (!Number.isInteger(start) || start < 0)
      throw new ApiError(410, "Expired", "The provided continue parameter is too old to display a consistent list result.");
    const page = limit > 0 ? items.slice(start, start + limit) : items.slice(start);
    const next = limit > 0 && start + limit < items.length ? Buffer.from(String(start + limit)).toString("base64url") : undefined;
    return {
      code: 200,
      body: {
        kind: `${req.type.kind}List`,
        apiVersion: apiVersionOf(req.type),
        metadata: { resourceVersion, ...(next ? { continue: next, remainingItemCount: items.length - start - limit } : {}) },
        items: page,
      },
    };
  }

  /** The objects a list or watch selects: namespace, `labelSelector`, `fieldSelector`, and the name of a named watch. */
  filtered(req: ResourceRequest, query: URLSearchParams): { items: KObject[]; resourceVersion: string; matches: (o: KObject) => boolean } {
    const labels = parseLabelSelector(query.get("labelSelector") ?? "");
    const fields = parseFieldSelector(query.get("fieldSelector") ?? "", req.type.kind);
    const matches = (o: KObject) =>
      (req.name === undefined || o.metadata.name === req.name) &&
      matchesRequirements(labels, o.metadata.labels) &&
      matchesFields(fields, o);
    const { items, resourceVersion } = this.store.list(req.typeKey, req.type.namespaced ? req.namespace : undefined);
    return { items: items.filter(matches), resourceVersion, matches };
  }

  create(req: ResourceRequest, rawBody: string, contentType: string, ctx: RequestContext): Response {
    if (req.subresource) throw new ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {});
    return this.insert(req, asObject(req.type, parseObjectBody(rawBody, contentType)), ctx, fieldManager(ctx));
  }

  /** Create `o`; `applied` carries the managedFields of a server-side apply that creates the object. */
  private insert(
    req: ResourceRequest,
    o: KObject,
    ctx: RequestContext,
    manager: string,
    applied?: KObject["metadata"]["managedFields"],
  ): Response {
    const t = req.type;
    this.checkTypeMeta(t, o);
    this.checkNamespace(req, o);
    if (t.namespaced) this.requireNamespace(o.metadata.namespace);
    if (o.metadata.resourceVersion) throw badRequest("resourceVersion should not be set on objects to be created");
    for (const k of ["uid", "creationTimestamp", "generation", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"])
      delete o.metadata[k];
    if (!o.metadata.name && o.metadata.generateName) o.metadata.name = `${o.metadata.generateName}${randomSuffix()}`;
    if (hasStatus(t)) o.status = t.kind === "Pod" ? { phase: "Pending" } : {};
    if (t.kind === "Namespace" || t.kind === "Service") delete o.status;
    applyDefaults(o, this.store);
    validateObject(t, o);
    if (applied) o.metadata.managedFields = applied;
    else {
      delete o.metadata.managedFields;
      recordUpdate(t, undefined, o, manager, this.now());
    }
    if (this.store.get(req.typeKey, o.metadata.namespace, o.metadata.name)) throw alreadyExists(t, o.metadata.name);
    if (isDryRun(ctx.query)) {
      o.metadata.uid = randomUUID();
      o.metadata.creationTimestamp = this.now();
      if (t.tracksGeneration !== false) o.metadata.generation = 1;
      return { code: 201, body: o };
    }
    return { code: 201, body: this.store.create(req.typeKey, o) };
  }

  update(req: ResourceRequest, rawBody: string, contentType: string, ctx: RequestContext): Response {
    const current = this.current(req);
    const body = asObject(req.subresource === "scale" ? scaleType() : req.type, parseObjectBody(rawBody, contentType));
    if (req.subresource === "scale") {
      const next = applyScale(current, body);
      return { code: 200, body: scaleOf(this.write({ ...req, subresource: undefined }, current, next, ctx, fieldManager(ctx))) };
    }
    if (body.metadata.managedFields === undefined) body.metadata.managedFields = current.metadata.managedFields;
    return { code: 200, body: this.write(req, current, body, ctx, fieldManager(ctx)) };
  }

  patch(req: ResourceRequest, rawBody: string, contentType: string, ctx: RequestContext): Response {
    const t = req.type;
    const mediaType = contentType.split(";")[0]!.trim();
    const accepted = isCustomResource(t)
      ? [PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.apply]
      : [PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.apply, PATCH_TYPES.strategic];
    if (!accepted.includes(mediaType)) throw unsupportedMediaType(accepted);
    const patch = parseBody(rawBody, mediaType);
    const manager = fieldManager(ctx);

    if (mediaType === PATCH_TYPES.apply) return this.apply(req, patch, ctx);

    const current = this.current(req);
    const view: KObject = req.subresource === "scale" ? scaleOf(current) : current;
    const viewType = req.subresource === "scale" ? scaleType() : t;
    let patched: KObject;
    if (mediaType === PATCH_TYPES.json) patched = applyJsonPatch(view, patch) as KObject;
    else if (mediaType === PATCH_TYPES.merge) patched = applyMergePatch(view, patch) as KObject;
    else patched = applyStrategicMergePatch(viewType, view, patch) as KObject;
    patched = asObject(viewType, patched);
    if (req.subresource === "scale") {
      const next = applyScale(current, patched);
      return { code: 200, body: scaleOf(this.write({ ...req, subresource: undefined }, current, next, ctx, manager)) };
    }
    return { code: 200, body: this.write(req, current, patched, ctx, manager) };
  }

  private apply(req: ResourceRequest, patch: unknown, ctx: RequestContext): Response {
    const t = req.type;
    if (req.subresource === "scale") throw unsupportedMediaType([PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.strategic]);
    const applied = asObject(t, patch);
    if (!applied.apiVersion || !applied.kind) throw badRequest("apiVersion and kind must be set in an applied configuration");
    this.checkTypeMeta(t, applied);
    if (applied.metadata.name && applied.metadata.name !== req.name) {
      throw badRequest(`the name of the object (${applied.metadata.name}) does not match the name on the URL (${req.name})`);
    }
    applied.metadata.name = req.name!;
    this.checkNamespace(req, applied);
    const force = ctx.query.get("force") === "true";
    const manager = ctx.query.get("fieldManager") ?? "";
    const live = this.store.get(req.typeKey, req.namespace, req.name!);
    const opts = { manager, force, time: this.now(), ...(req.subresource ? { subresource: req.subresource } : {}) };
    if (!live) {
      if (req.subresource) throw notFound(t, req.name!);
      const created = serverSideApply(t, undefined, applied, opts);
      return this.insert(req, created, ctx, manager, created.metadata.managedFields);
    }
    if (applied.metadata.resourceVersion && applied.metadata.resourceVersion !== live.metadata.resourceVersion)
      throw conflict(t, live.metadata.name);
    const next = serverSideApply(t, live, applied, opts);
    return { code: 200, body: this.write(req, live, next, ctx, manager, false) };
  }

  delete(req: ResourceRequest, rawBody: string, ctx: RequestContext): Response {
    const t = req.type;
    const current = this.current(req);
    const opts = deleteOptions(rawBody, ctx.query);
    if (opts.preconditions?.resourceVersion && opts.preconditions.resourceVersion !== current.metadata.resourceVersion) {
      throw conflict(
        t,
        current.metadata.name,
        `the ResourceVersion in the precondition (${opts.preconditions.resourceVersion}) ` +
          `does not match the ResourceVersion in record (${current.metadata.resourceVersion}). The object might have been modified`,
      );
    }
    if (opts.preconditions?.uid && opts.preconditions.uid !== current.metadata.uid) {
      throw conflict(
        t,
        current.metadata.name,
        `the UID in the precondition (${opts.preconditions.uid}) ` +
          `does not match the UID in record (${current.metadata.uid}). The object might have been deleted and then recreated`,
      );
    }
    const dry = isDryRun(ctx.query);
    const finalizers = (current.metadata.finalizers as string[] | undefined) ?? [];
    if (finalizers.length && t.kind !== "Namespace") {
      // Pending deletion: the object stays until its finalizers are removed. The response is the object with its
      // deletionTimestamp, 200 — k8s.io/apiserver's DELETE handler answers 202 Accepted for a deletion that did
      // not complete only when the client sent orphanDependents=false (kept for old clients).
      const code = opts.orphanDependents === false ? 202 : 200;
      if (current.metadata.deletionTimestamp) return { code, body: current };
      if (dry)
        return {
          code,
          body: { ...current, metadata: { ...current.metadata, deletionTimestamp: this.now(), deletionGracePeriodSeconds: 0 } },
        };
      const marked = this.store.mutate(req.typeKey, req.namespace, req.name!, (o) => {
        o.metadata.deletionTimestamp = this.now();
        o.metadata.deletionGracePeriodSeconds = 0;
      })!;
      return { code, body: marked };
    }
    if (dry) return { code: 200, body: this.deletedBody(t, current) };
    const policy = opts.propagationPolicy ?? (opts.orphanDependents ? "Orphan" : "Background");
    if (t.kind === "Namespace") this.deleteNamespaceContents(current.metadata.name);
    this.collectDependents(current, policy);
    const gone = this.store.delete(req.typeKey, req.namespace, req.name!);
    if (t.kind === "Namespace") {
      gone.metadata.deletionTimestamp = this.now();
      gone.status = { phase: "Terminating" };
      // A real namespace deletion never completes within the request (the namespace controller finishes it).
      if (opts.orphanDependents === false) return { code: 202, body: gone };
    }
    return { code: 200, body: this.deletedBody(t, gone) };
  }

  deleteCollection(req: ResourceRequest, rawBody: string, ctx: RequestContext): Response {
    const { items, resourceVersion } = this.filtered(req, ctx.query);
    const deleted: KObject[] = [];
    for (const o of items) {
      const r = this.delete({ ...req, name: o.metadata.name, namespace: o.metadata.namespace, verb: "delete" }, rawBody, ctx);
      deleted.push(r.body as KObject);
    }
    return {
      code: 200,
      body: {
        kind: `${req.type.kind}List`,
        apiVersion: apiVersionOf(req.type),
        metadata: { resourceVersion },
        items: deleted.filter((d) => d.kind !== "Status"),
      },
    };
  }

  private deletedBody(t: ResourceType, o: KObject): unknown {
    if (RETURNS_DELETED_OBJECT.has(`${t.group}/${t.kind}`) || isCustomResource(t)) return o;
    return successStatus({ name: o.metadata.name, group: t.group, kind: t.plural, uid: o.metadata.uid });
  }

  /** Owner-reference garbage collection, done at once (the real collector does it shortly after). */
  private collectDependents(owner: KObject, policy: string): void {
    const uid = owner.metadata.uid;
    for (const [key] of this.store.types) {
      for (const d of this.store.list(key).items) {
        if (!d.metadata.ownerReferences?.some((r) => r.uid === uid)) continue;
        if (policy === "Orphan") {
          this.store.mutate(key, d.metadata.namespace, d.metadata.name, (o) => {
            o.metadata.ownerReferences = o.metadata.ownerReferences!.filter((r) => r.uid !== uid);
            if (!o.metadata.ownerReferences.length) delete o.metadata.ownerReferences;
          });
        } else {
          this.collectDependents(d, policy);
          try {
            this.store.delete(key, d.metadata.namespace, d.metadata.name);
          } catch (e) {
            if (!(e instanceof StoreError && e.code === 404)) throw e;
          }
        }
      }
    }
  }

  private deleteNamespaceContents(ns: string): void {
    for (const [key, t] of this.store.types) {
      if (!t.namespaced) continue;
      for (const o of this.store.list(key, ns).items) this.store.delete(key, ns, o.metadata.name);
    }
  }
}

function deleteOptions(rawBody: string, query: URLSearchParams) {
  let body: { propagationPolicy?: string; orphanDependents?: boolean; preconditions?: { resourceVersion?: string; uid?: string } } = {};
  if (rawBody.trim()) {
    try {
      body = JSON.parse(rawBody);
    } catch {
      throw badRequest("the body of the request was not valid DeleteOptions");
    }
  }
  const policy = query.get("propagationPolicy") ?? body.propagationPolicy;
  if (policy !== undefined && !["Orphan", "Background", "Foreground"].includes(policy)) {
    throw badRequest(
      `DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "${policy}": ` +
        `supported values: "Foreground", "Background", "Orphan", "nil"`,
    );
  }
  // Query parameters are decoded into DeleteOptions as well (kubectl sends a body; curl users often don't).
  const orphan = query.get("orphanDependents");
  const orphanDependents = orphan === null ? body.orphanDependents : orphan === "true";
  return { ...body, propagationPolicy: policy, orphanDependents };
}

function scaleType(): ResourceType {
  return { group: "autoscaling", version: "v1", kind: "Scale", plural: "scale", singular: "scale", namespaced: true };
}

const SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";
function randomSuffix(): string {
  let s = "";
  for (let i = 0; i < 5; i++) s += SUFFIX_ALPHABET[Math.floor(Math.random() * SUFFIX_ALPHABET.length)];
  return s;
}
