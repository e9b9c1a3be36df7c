/**
 * The few Deployment changes a release makes (set one container's image, scale) and how a Deployment's earlier
 * template is found again: from its own ReplicaSets, matched by owner and revision, as `kubectl rollout undo`
 * does. Each change is a small patch so nothing else in the object (owned by the manifests) moves.
 */
import * as k8s from "@kubernetes/client-node";
import type { Kube } from "./client.ts";

const strategicMerge = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.StrategicMergePatch);
const mergePatch = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch);
const jsonPatch = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.JsonPatch);

/** The Deployment controller's revision counter, on the Deployment and on each of its ReplicaSets. */
export const REVISION_ANNOTATION = "deployment.kubernetes.io/revision";
/** The revisions a ReplicaSet had before the controller reused it for a newer one (a rollout undo does that). */
export const REVISION_HISTORY_ANNOTATION = "deployment.kubernetes.io/revision-history";
/** The label the Deployment controller adds to a ReplicaSet's template (and pods) to tell templates apart. */
export const POD_TEMPLATE_HASH = "pod-template-hash";

export function containerImage(d: k8s.V1Deployment, container: string): string | undefined {
  return d.spec?.template?.spec?.containers?.find((c) => c.name === container)?.image;
}

export function revisionOf(o: { metadata?: k8s.V1ObjectMeta }): string | undefined {
  return o.metadata?.annotations?.[REVISION_ANNOTATION];
}

/** Set one container's image, and optionally annotations of the pod template (strategic merge: nothing else moves). */
export async function setContainerImage(
  kube: Kube,
  namespace: string,
  name: string,
  container: string,
  image: string,
  templateAnnotations?: Record<string, string>,
): Promise<k8s.V1Deployment> {
  const metadata = templateAnnotations ? { metadata: { annotations: templateAnnotations } } : {};
  return kube.apps.patchNamespacedDeployment(
    { name, namespace, body: { spec: { template: { ...metadata, spec: { containers: [{ name: container, image }] } } } } },
    strategicMerge,
  );
}

/** Returns the Deployment as the API answered the change (its generation says when a watch has seen it). */
export async function scaleDeployment(kube: Kube, namespace: string, name: string, replicas: number): Promise<k8s.V1Deployment> {
  return kube.apps.patchNamespacedDeployment({ name, namespace, body: { spec: { replicas } } }, mergePatch);
}

/** The ReplicaSets `d` controls (ownerReference with its uid and controller: true), as kubectl lists them. */
export function ownedReplicaSets(d: k8s.V1Deployment, replicaSets: Iterable<k8s.V1ReplicaSet>): k8s.V1ReplicaSet[] {
  const uid = d.metadata?.uid;
  return [...replicaSets].filter((rs) =>
    (rs.metadata?.ownerReferences ?? []).some(
      (o) => o.controller && o.kind === "Deployment" && (uid ? o.uid === uid : o.name === d.metadata?.name),
    ),
  );
}

/**
 * The ReplicaSet of `d` that was its revision `revision` (now, or before the controller reused it: a rollback to
 * it does that), if the controller still keeps it (spec.revisionHistoryLimit).
 */
export function replicaSetOfRevision(
  d: k8s.V1Deployment,
  replicaSets: Iterable<k8s.V1ReplicaSet>,
  revision: string,
): k8s.V1ReplicaSet | undefined {
  const owned = ownedReplicaSets(d, replicaSets);
  return (
    owned.find((rs) => revisionOf(rs) === revision) ??
    owned.find((rs) => (rs.metadata?.annotations?.[REVISION_HISTORY_ANNOTATION] ?? "").split(",").includes(revision))
  );
}

/** A ReplicaSet's pod template as a Deployment template: without the controller's pod-template-hash label. */
export function templateOfReplicaSet(rs: k8s.V1ReplicaSet): k8s.V1PodTemplateSpec {
  const template = JSON.parse(JSON.stringify(rs.spec?.template ?? {})) as k8s.V1PodTemplateSpec;
  if (template.metadata?.labels) delete template.metadata.labels[POD_TEMPLATE_HASH];
  return template;
}

/** JSON with sorted keys and without the pod-template-hash label: two templates are the same when these strings are. */
export function canonicalTemplate(template: k8s.V1PodTemplateSpec | undefined): string {
  const t = JSON.parse(JSON.stringify(template ?? {})) as k8s.V1PodTemplateSpec;
  if (t.metadata?.labels) delete t.metadata.labels[POD_TEMPLATE_HASH];
  return JSON.stringify(t, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}

/**
 * Put a Deployment back on one of its own earlier templates (`kubectl rollout undo --to-revision` semantics): a JSON
 * patch replace of spec.template, so fields the earlier template did not have are removed again.
 */
export async function restoreTemplate(
  kube: Kube,
  namespace: string,
  name: string,
  template: k8s.V1PodTemplateSpec,
): Promise<k8s.V1Deployment> {
  return kube.apps.patchNamespacedDeployment(
    { name, namespace, body: [{ op: "replace", path: "/spec/template", value: template }] },
    jsonPatch,
  );
}
