/**
 * The few Deployment changes a release makes: set one container's image, scale, and restore a pod template
 * saved before promotion. Each is a small patch so nothing else in the object (owned by the manifests) moves.
 */
import * as k8s from "@kubernetes/client-node";
import type { Kube } from "./client.ts";

const strategicMerge = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.StrategicMergePatch);
const mergePatch = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch);
const jsonPatch = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.JsonPatch);

export function readDeployment(kube: Kube, namespace: string, name: string): Promise<k8s.V1Deployment> {
  return kube.apps.readNamespacedDeployment({ name, namespace });
}

export function containerImage(d: k8s.V1Deployment, container: string): string | undefined {
  return d.spec?.template?.spec?.containers?.find((c) => c.name === container)?.image;
}

export async function setContainerImage(kube: Kube, namespace: string, name: string, container: string, image: string): Promise<void> {
  await kube.apps.patchNamespacedDeployment(
    { name, namespace, body: { spec: { template: { spec: { containers: [{ name: container, image }] } } } } },
    strategicMerge,
  );
}

export async function scaleDeployment(kube: Kube, namespace: string, name: string, replicas: number): Promise<void> {
  await kube.apps.patchNamespacedDeployment({ name, namespace, body: { spec: { replicas } } }, mergePatch);
}

/** Put back a pod template saved earlier, exactly (a JSON patch replace, so removed fields stay removed). */
export async function restoreTemplate(kube: Kube, namespace: string, name: string, template: k8s.V1PodTemplateSpec): Promise<void> {
  await kube.apps.patchNamespacedDeployment(
    { name, namespace, body: [{ op: "replace", path: "/spec/template", value: template }] },
    jsonPatch,
  );
}

/** The pod template as plain JSON (the wire format), for saving in the release state. */
export function templateOf(d: k8s.V1Deployment): k8s.V1PodTemplateSpec {
  return JSON.parse(JSON.stringify(d.spec?.template ?? {}));
}

/** Digest of the image the pods of `container` really run (from a Ready pod's imageID), when the kubelet reports one. */
export async function runningDigest(kube: Kube, namespace: string, d: k8s.V1Deployment, container: string): Promise<string | undefined> {
  const selector = Object.entries(d.spec?.selector?.matchLabels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  if (!selector) return undefined;
  const pods = await kube.core.listNamespacedPod({ namespace, labelSelector: selector });
  for (const pod of pods.items) {
    const id = pod.status?.containerStatuses?.find((c) => c.name === container)?.imageID;
    const digest = id?.match(/sha256:[a-f0-9]{64}/)?.[0];
    if (digest) return digest;
  }
  return undefined;
}
