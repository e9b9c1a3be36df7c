/**
 * Applying manifests to the rehearsal's cluster with client-node's server-side apply (the way `kubectl apply
 * --server-side` does): Namespaces and CRDs first, then, once the CRDs are established, everything else in file
 * order. Writes that fail because the cluster is still settling (a CRD's kind not served yet, an admission webhook
 * not answering yet) are retried until a deadline; anything else fails at once, naming the object.
 */
import * as k8s from "@kubernetes/client-node";
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
const SETTLING =
  /no matches for kind|could not find the requested resource|failed calling webhook|connection refused|no endpoints available|service unavailable|the server could not find|is not found in the API/i;

export interface ApplyOptions {
  fieldManager: string;
  /** How long a write may keep failing while the cluster settles. */
  settleTimeoutMs?: number;
  log?: (line: string) => void;
}

async function applyOne(kube: Kube, o: Manifest, opts: ApplyOptions): Promise<void> {
  await waitUntil<true>(
    `applying ${describeObject(o)}`,
    async (): Promise<Look<true>> => {
      try {
        await kube.objects.patch(o, undefined, undefined, opts.fieldManager, true, k8s.PatchStrategy.ServerSideApply);
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
