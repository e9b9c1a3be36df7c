/**
 * Kubernetes Events on the Deployments a release touched, so `kubectl describe deployment` and any event
 * shipper show what release-gate did, next to what the controllers did.
 */
import * as k8s from "@kubernetes/client-node";
import { randomUUID } from "node:crypto";
import type { Kube } from "../kube/client.ts";

export interface ReleaseEvent {
  deployment: string;
  /** The Deployment's uid, when known (the Event then points at this very object, not a namesake). */
  uid?: string;
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

export async function emitEvent(kube: Kube, namespace: string, e: ReleaseEvent): Promise<void> {
  const now = new Date();
  const uid = e.uid;
  await kube.core.createNamespacedEvent({
    namespace,
    body: {
      metadata: { name: `${e.deployment}.release-gate.${randomUUID().slice(0, 8)}`, namespace },
      involvedObject: { apiVersion: "apps/v1", kind: "Deployment", name: e.deployment, namespace, ...(uid ? { uid } : {}) },
      type: e.type,
      reason: e.reason,
      message: e.message.slice(0, 1024),
      source: { component: "release-gate" },
      reportingComponent: "release-gate",
      reportingInstance: "release-gate",
      firstTimestamp: now,
      lastTimestamp: now,
      eventTime: new k8s.V1MicroTime(now.getTime()),
      action: e.reason,
      count: 1,
    },
  });
}
