/**
 * The in-flight release, kept in the cluster (ConfigMap release-gate-state) and rewritten before every step,
 * so a run that dies (SIGKILL, lost runner) leaves enough for `status` to explain it and for `rollback` or the
 * next `deploy --repair` to put production back: the images and pod templates from before the release, the
 * step reached, and whether stable has been touched.
 */
import type * as k8s from "@kubernetes/client-node";
import type { Kube } from "../kube/client.ts";
import { isNotFound } from "../kube/api-errors.ts";
import type { ReleaseRecord } from "../audit/record.ts";

export const STATE_CONFIGMAP = "release-gate-state";
const KEY = "inflight.json";

export interface ServiceBefore {
  name: string;
  stableDeployment: string;
  canaryDeployment: string;
  container: string;
  previousImage: string;
  newImage: string;
  /** Stable's pod template before the release, restored if promotion started and the release fails. */
  previousTemplate: k8s.V1PodTemplateSpec;
  stableReplicas: number;
}

export interface InFlight {
  id: string;
  tag: string;
  holder: string;
  startedAt: string;
  /** The step being run now ("canary 10%", "promote", "rollback"). */
  step: string;
  /** Highest weight whose checks all passed (promote requires 100). */
  passedWeight: number;
  /** Stable's template may have been changed: a rollback must restore it. */
  promotionStarted: boolean;
  services: ServiceBefore[];
  /** The record so far, so a repair can finish it. */
  record: ReleaseRecord;
  updatedAt: string;
}

export async function readInFlight(kube: Kube, namespace: string): Promise<InFlight | undefined> {
  try {
    const cm = await kube.core.readNamespacedConfigMap({ name: STATE_CONFIGMAP, namespace });
    const text = cm.data?.[KEY];
    return text ? (JSON.parse(text) as InFlight) : undefined;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Write the whole state (last writer wins: only the lock holder writes it). */
export async function writeInFlight(kube: Kube, namespace: string, state: InFlight): Promise<void> {
  state.updatedAt = new Date().toISOString();
  const body = { metadata: { name: STATE_CONFIGMAP, namespace, labels: { "app.kubernetes.io/managed-by": "release-gate" } }, data: { [KEY]: JSON.stringify(state) } };
  try {
    await kube.core.replaceNamespacedConfigMap({ name: STATE_CONFIGMAP, namespace, body });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await kube.core.createNamespacedConfigMap({ namespace, body });
  }
}

export async function clearInFlight(kube: Kube, namespace: string): Promise<void> {
  try {
    await kube.core.deleteNamespacedConfigMap({ name: STATE_CONFIGMAP, namespace });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}
