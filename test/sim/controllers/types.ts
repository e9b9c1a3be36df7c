/** The slices of Deployment, ReplicaSet and Pod the simulated controllers read and write. */
import type { KObject } from "../store.ts";
import type { LabelSelector } from "./selectors.ts";

export const DEPLOYMENTS = "apps/v1/deployments";
export const REPLICASETS = "apps/v1/replicasets";
export const PODS = "/v1/pods";
export const SERVICES = "/v1/services";
export const INGRESSES = "networking.k8s.io/v1/ingresses";
export const HTTPROUTES = "gateway.networking.k8s.io/v1/httproutes";
export const GATEWAYS = "gateway.networking.k8s.io/v1/gateways";
export const REFERENCEGRANTS = "gateway.networking.k8s.io/v1beta1/referencegrants";
export const NAMESPACES = "/v1/namespaces";

export interface Container {
  name: string;
  image?: string;
  [k: string]: unknown;
}

export interface PodTemplateSpec {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: unknown };
  spec?: { containers?: Container[]; [k: string]: unknown };
}

export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason?: string;
  message?: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
  lastProbeTime?: string | null;
}

export type IntOrString = number | string;

export interface Deployment extends KObject {
  spec: {
    replicas?: number;
    selector?: LabelSelector;
    template: PodTemplateSpec;
    strategy?: { type?: "RollingUpdate" | "Recreate"; rollingUpdate?: { maxSurge?: IntOrString; maxUnavailable?: IntOrString } };
    minReadySeconds?: number;
    revisionHistoryLimit?: number;
    progressDeadlineSeconds?: number;
    paused?: boolean;
  };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    unavailableReplicas?: number;
    collisionCount?: number;
    conditions?: Condition[];
  };
}

export interface ReplicaSet extends KObject {
  spec: { replicas?: number; minReadySeconds?: number; selector?: LabelSelector; template?: PodTemplateSpec };
  status?: {
    replicas?: number;
    fullyLabeledReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    observedGeneration?: number;
    conditions?: Condition[];
  };
}

export interface ContainerState {
  waiting?: { reason?: string; message?: string };
  running?: { startedAt: string };
  terminated?: { exitCode: number; reason?: string; message?: string; startedAt?: string; finishedAt?: string; containerID?: string };
}

export interface ContainerStatus {
  name: string;
  image: string;
  imageID: string;
  containerID?: string;
  ready: boolean;
  started: boolean;
  restartCount: number;
  state: ContainerState;
  lastState: ContainerState;
}

export interface Pod extends KObject {
  spec: { containers: Container[]; nodeName?: string; [k: string]: unknown };
  status?: {
    phase?: "Pending" | "Running" | "Succeeded" | "Failed" | "Unknown";
    conditions?: Condition[];
    containerStatuses?: ContainerStatus[];
    hostIP?: string;
    hostIPs?: Array<{ ip: string }>;
    podIP?: string;
    podIPs?: Array<{ ip: string }>;
    startTime?: string;
    qosClass?: string;
  };
}

export function controllerOf(o: KObject): { kind: string; name: string; uid: string } | undefined {
  return o.metadata.ownerReferences?.find((r) => r.controller);
}

export function conditionOf(conds: Condition[] | undefined, type: string): Condition | undefined {
  return conds?.find((c) => c.type === type);
}

export function isPodReady(p: Pod): boolean {
  return conditionOf(p.status?.conditions, "Ready")?.status === "True";
}

/** Pods the ReplicaSet controller counts: neither Succeeded nor Failed, and not being deleted. */
export function isPodActive(p: Pod): boolean {
  return p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed" && !p.metadata.deletionTimestamp;
}
