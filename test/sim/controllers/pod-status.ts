/**
 * How a pod's status reads, given what its containers are doing: phase, the five pod conditions, and
 * containerStatuses with image, imageID, containerID, ready, started, restartCount, state and lastState, as a
 * real kubelet reports them.
 */
import { createHash } from "node:crypto";
import type { Condition, ContainerState, ContainerStatus, Pod } from "./types.ts";

/** Every digest handed out, with the tag reference it was pushed as: a pod pinned to a digest runs what the tag ran. */
const pushedAs = new Map<string, string>();

/**
 * docker.io/library/nginx@sha256:…, as a kubelet reports what it pulled. A reference by digest is that digest; a
 * tag's digest is derived from the reference (stable per image) and from how often the tag was pushed again
 * (`push`: 0 for the first push), so a re-pushed tag pulls as another digest, as from a registry.
 */
export function imageIdOf(image: string, push = 0): string {
  const ref = normalizeImage(image);
  const at = ref.indexOf("@");
  if (at >= 0) return ref;
  const digest = `sha256:${createHash("sha256")
    .update(push ? `${ref}#${push}` : ref)
    .digest("hex")}`;
  pushedAs.set(digest, ref);
  return `${ref.replace(/:[^/]*$/, "")}@${digest}`;
}

/** The fully qualified reference a runtime reports: docker.io/library/nginx:1.27 for nginx:1.27. */
export function normalizeImage(image: string): string {
  const first = image.split("/")[0]!;
  const hasRegistry = image.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost");
  let ref = hasRegistry ? image : image.includes("/") ? `docker.io/${image}` : `docker.io/library/${image}`;
  const lastSegment = ref.split("/").pop()!;
  if (!lastSegment.includes(":") && !lastSegment.includes("@")) ref += ":latest";
  return ref;
}

/** The tag of an image reference ("latest" when it has none; for a digest, the tag it was pushed as, else the digest). */
export function imageTag(image: string): string {
  const at = image.indexOf("@");
  if (at >= 0) {
    const tagged = pushedAs.get(image.slice(at + 1));
    return tagged ? imageTag(tagged) : image.slice(at + 1);
  }
  const last = image.split("/").pop()!;
  const colon = last.lastIndexOf(":");
  return colon >= 0 ? last.slice(colon + 1) : "latest";
}

export interface ContainerView {
  name: string;
  image: string;
  /** What the runtime pulled (set at pull time: a tag pushed again later does not change a running container). */
  imageID?: string;
  containerID?: string;
  ready: boolean;
  started: boolean;
  /** True once the container has run at least once (pods stay Pending until every container has). */
  everRan: boolean;
  restartCount: number;
  state: ContainerState;
  lastState: ContainerState;
}

export interface PodView {
  podIP?: string;
  hostIP: string;
  startTime?: string;
  sandboxReady: boolean;
  containers: ContainerView[];
}

export function buildPodStatus(pod: Pod, view: PodView, now: string): NonNullable<Pod["status"]> {
  const previous = pod.status?.conditions ?? [];
  const cond = (type: string, ok: boolean, reason?: string, message?: string): Condition => {
    const old = previous.find((c) => c.type === type);
    const status = ok ? "True" : "False";
    const c: Condition = {
      type,
      status,
      lastProbeTime: null,
      lastTransitionTime: old && old.status === status ? old.lastTransitionTime : now,
    };
    if (!ok && reason) c.reason = reason;
    if (!ok && message) c.message = message;
    return c;
  };
  const unready = view.containers.filter((c) => !c.ready).map((c) => c.name);
  const allReady = unready.length === 0 && view.containers.length > 0;
  const notReadyMsg = `containers with unready status: [${unready.join(" ")}]`;
  const statuses: ContainerStatus[] = view.containers.map((c) => ({
    name: c.name,
    image: c.image,
    imageID: c.everRan ? (c.imageID ?? imageIdOf(c.image)) : "",
    ...(c.containerID ? { containerID: c.containerID } : {}),
    ready: c.ready,
    started: c.started,
    restartCount: c.restartCount,
    state: c.state,
    lastState: c.lastState,
  }));
  const phase = view.containers.every((c) => c.everRan) ? "Running" : "Pending";
  return {
    ...pod.status,
    phase,
    conditions: [
      cond("PodReadyToStartContainers", view.sandboxReady),
      cond("Initialized", true),
      cond("Ready", allReady, "ContainersNotReady", notReadyMsg),
      cond("ContainersReady", allReady, "ContainersNotReady", notReadyMsg),
      cond("PodScheduled", true),
    ],
    hostIP: view.hostIP,
    hostIPs: [{ ip: view.hostIP }],
    ...(view.podIP ? { podIP: view.podIP, podIPs: [{ ip: view.podIP }] } : {}),
    ...(view.startTime ? { startTime: view.startTime } : {}),
    containerStatuses: statuses,
    qosClass: pod.status?.qosClass ?? "BestEffort",
  };
}
