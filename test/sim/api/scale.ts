/** The `scale` subresource: an autoscaling/v1 Scale view of a Deployment, ReplicaSet or StatefulSet. */
import type { KObject } from "../store.ts";
import type { LabelSelector } from "./selectors.ts";

type Obj = Record<string, unknown>;

/** A label selector in its string form, as Scale.status.selector carries it (`app=web,tier in (a,b)`). */
export function selectorString(sel: LabelSelector | undefined): string {
  if (!sel) return "";
  const parts = Object.keys(sel.matchLabels ?? {})
    .sort()
    .map((k) => `${k}=${sel.matchLabels![k]}`);
  for (const e of sel.matchExpressions ?? []) {
    if (e.operator === "In") parts.push(`${e.key} in (${[...(e.values ?? [])].sort().join(",")})`);
    else if (e.operator === "NotIn") parts.push(`${e.key} notin (${[...(e.values ?? [])].sort().join(",")})`);
    else if (e.operator === "Exists") parts.push(e.key);
    else parts.push(`!${e.key}`);
  }
  return parts.join(",");
}

export function scaleOf(o: KObject): KObject {
  const spec = (o.spec ?? {}) as Obj;
  const status = (o.status ?? {}) as Obj;
  return {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: {
      name: o.metadata.name,
      namespace: o.metadata.namespace,
      uid: o.metadata.uid,
      resourceVersion: o.metadata.resourceVersion,
      creationTimestamp: o.metadata.creationTimestamp,
    },
    spec: { replicas: (spec.replicas as number | undefined) ?? 0 },
    status: {
      replicas: (status.replicas as number | undefined) ?? 0,
      selector: selectorString(spec.selector as LabelSelector | undefined),
    },
  };
}

/** The parent object with the replicas a Scale asks for (resourceVersion carried over as a precondition). */
export function applyScale(parent: KObject, scale: KObject): KObject {
  const out = structuredClone(parent);
  const replicas = (scale.spec as Obj | undefined)?.replicas;
  out.spec = { ...((out.spec ?? {}) as Obj), replicas };
  out.metadata.resourceVersion = scale.metadata?.resourceVersion || parent.metadata.resourceVersion;
  return out;
}
