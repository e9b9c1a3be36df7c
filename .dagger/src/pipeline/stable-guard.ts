/**
 * Stable belongs to whoever changed it last. Before promoting, after promoting and before restoring, stable's live
 * pod template is compared with the two templates this release can account for: the one it found (its own
 * ReplicaSet of the recorded revision) and the one promotion makes from it (the promoted image, the released-tag
 * annotation). Anything else is someone else's change (a hotfix by hand, a GitOps sync): release-gate neither
 * promotes over it nor restores over it, and says who made it (managedFields) and what it changed.
 */
import type * as k8s from "@kubernetes/client-node";
import { pinnedTo, versionOf } from "../config/image-ref.ts";
import type { ClusterWatch } from "../health/cluster-watch.ts";
import { canonicalTemplate, containerImage, replicaSetOfRevision, revisionOf, templateOfReplicaSet } from "../kube/deployments.ts";
import { describeChanger } from "../kube/managed-fields.ts";
import { releasedTagAnnotations } from "../kube/released-tag.ts";
import type { ServiceInFlight } from "./journal.ts";

/** Stable as this release can account for it, or someone else's change (`changed`: who and what, in words). */
export type StableIs = { kind: "previous" } | { kind: "promoted" } | { kind: "missing" } | { kind: "changed"; changed: string };

/** The image stable is promoted to: the digest the canary ran, or its tag when no digest was reported. */
export function promotedImage(s: ServiceInFlight): string {
  return s.canary.digest ? pinnedTo(s.canary.image, s.canary.digest) : s.canary.image;
}

/** The annotations promotion adds to stable's template: the tag it was released as, with the digest it is pinned to. */
export function promotedAnnotations(s: ServiceInFlight): Record<string, string> | undefined {
  return s.canary.digest ? releasedTagAnnotations(versionOf(s.canary.image), s.canary.digest) : undefined;
}

/** What promotion makes of stable's template of the recorded revision: the promoted image and the released-tag annotation. */
export function promotedTemplate(previous: k8s.V1ReplicaSet, s: ServiceInFlight): k8s.V1PodTemplateSpec {
  const template = templateOfReplicaSet(previous);
  for (const c of template.spec?.containers ?? []) if (c.name === s.container) c.image = promotedImage(s);
  const annotations = promotedAnnotations(s);
  if (annotations) template.metadata = { ...template.metadata, annotations: { ...template.metadata?.annotations, ...annotations } };
  return template;
}

/** Where stable stands, from the run's watch of the namespace. */
export function stableState(cluster: ClusterWatch, s: ServiceInFlight): StableIs {
  const stable = cluster.deployment(s.stable.deployment);
  if (!stable) return { kind: "missing" };
  const previous = replicaSetOfRevision(stable, cluster.replicaSets(), s.stable.revision);
  const live = canonicalTemplate(stable.spec?.template);
  if (previous ? live === canonicalTemplate(templateOfReplicaSet(previous)) : revisionOf(stable) === s.stable.revision) {
    return { kind: "previous" };
  }
  if (previous && live === canonicalTemplate(promotedTemplate(previous, s))) return { kind: "promoted" };
  return { kind: "changed", changed: describeChange(stable, previous, s) };
}

function describeChange(stable: k8s.V1Deployment, previous: k8s.V1ReplicaSet | undefined, s: ServiceInFlight): string {
  const was = previous ? templateOfReplicaSet(previous).spec?.containers?.find((c) => c.name === s.container)?.image : s.stable.image;
  const now = containerImage(stable, s.container);
  const what = was !== now ? `image ${was ?? "?"} → ${now ?? "?"}` : "its pod template (same image, other settings)";
  return (
    `Deployment ${stable.metadata?.namespace}/${s.stable.deployment} was changed by ${describeChanger(stable, [["f:spec", "f:template"]])}: ` +
    `${what}, revision ${s.stable.revision} → ${revisionOf(stable) ?? "?"}`
  );
}

/** Each service's stable as the release can account for it (`accept`), or the changes found, one sentence each. */
export function foreignStableChanges(cluster: ClusterWatch, services: ServiceInFlight[], accept: Array<StableIs["kind"]>): string[] {
  return services.flatMap((s) => {
    const is = stableState(cluster, s);
    if (accept.includes(is.kind)) return [];
    return [is.kind === "changed" ? is.changed : `Deployment ${cluster.namespace}/${s.stable.deployment} does not exist`];
  });
}
