/**
 * A simulated node: schedules every new pod onto itself, gives it an IP, and runs its containers the way the
 * scenario says their image behaves: ready after a delay; crash-looping (restartCount grows under a doubling
 * back-off of 10 s up to 300 s, `waiting.reason: CrashLoopBackOff`, never Ready); failing to pull
 * (`ErrImagePull`, then `ImagePullBackOff`); running but never Ready; or Ready and then failing. Behaviour is
 * looked up again whenever the scenario changes, so a test can make a version start failing mid-test.
 */
import { randomBytes } from "node:crypto";
import type { Clock } from "../clock.ts";
import type { PodBehaviour } from "../scenario.ts";
import type { Store } from "../store.ts";
import { buildPodStatus, imageIdOf, normalizeImage, type ContainerView } from "./pod-status.ts";
import { PODS, type ContainerState, type Pod } from "./types.ts";

export const NODE_NAME = "sim-node-1";
export const NODE_IP = "172.18.0.2";
const BACKOFF_START = 10;
const BACKOFF_MAX = 300;

interface ContainerRun extends ContainerView {
  behaviour: PodBehaviour;
  backoff: number;
  /** When the current run started (simulated ms), for app failures that start after a delay. */
  runningSince?: number;
  cancel: Array<() => void>;
}

interface PodRun {
  namespace: string;
  name: string;
  uid: string;
  podIP?: string;
  startTime?: string;
  sandboxReady: boolean;
  containers: ContainerRun[];
  cancel: Array<() => void>;
}

export class Kubelet {
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly behaviourFor: (image: string) => PodBehaviour;
  private readonly pods = new Map<string, PodRun>(); // uid → run
  /** How often each (normalized) tag reference was pushed again: pulls from then on get another digest. */
  private readonly pushes = new Map<string, number>();
  private unsubscribe?: () => void;
  private nextIp = 10;

  constructor(store: Store, clock: Clock, behaviourFor: (image: string) => PodBehaviour) {
    this.store = store;
    this.clock = clock;
    this.behaviourFor = behaviourFor;
  }

  start(): void {
    this.unsubscribe = this.store.watch(PODS, undefined, undefined, (e) => {
      const uid = e.object.metadata.uid!;
      if (e.type === "DELETED") this.forget(uid);
      else if (!this.pods.has(uid)) setImmediate(() => this.admit(e.object as Pod));
    });
    for (const p of this.store.list(PODS).items) this.admit(p as Pod);
  }

  stop(): void {
    this.unsubscribe?.();
    for (const uid of [...this.pods.keys()]) this.forget(uid);
  }

  /** When a container of this pod started its current run (simulated ms since the epoch), if it is running. */
  runningSince(podUid: string, container?: string): number | undefined {
    const run = this.pods.get(podUid);
    const c = run?.containers.find((x) => container === undefined || x.name === container);
    return c?.runningSince;
  }

  /**
   * The tag of `image` is pushed again (same name, other content): containers pulled from now on report another
   * digest in their imageID; running ones keep theirs, as on a real node.
   */
  repush(image: string): void {
    const ref = normalizeImage(image);
    this.pushes.set(ref, (this.pushes.get(ref) ?? 0) + 1);
  }

  /** Re-read every container's behaviour (after a scenario change) and apply the difference from now on. */
  reconfigure(): void {
    for (const run of this.pods.values()) {
      let changed = false;
      for (const c of run.containers) {
        const b = this.behaviourFor(c.image);
        if (JSON.stringify(b) === JSON.stringify(c.behaviour)) continue;
        c.behaviour = b;
        changed = true;
        // A running container switches plans now; a waiting one picks the new behaviour up at its next start.
        if (c.state.running) {
          this.cancelContainer(c);
          this.planRunning(run, c, true);
        }
      }
      if (changed) this.publish(run);
    }
  }

  // ---- lifecycle ---------------------------------------------------------------------------------------

  private admit(pod: Pod): void {
    const uid = pod.metadata.uid!;
    if (this.pods.has(uid) || !this.store.get(PODS, pod.metadata.namespace, pod.metadata.name)) return;
    const run: PodRun = {
      namespace: pod.metadata.namespace ?? "default",
      name: pod.metadata.name,
      uid,
      sandboxReady: false,
      cancel: [],
      containers: (pod.spec.containers ?? []).map((c) => ({
        name: c.name,
        image: c.image ?? "",
        ready: false,
        started: false,
        everRan: false,
        restartCount: 0,
        state: { waiting: { reason: "ContainerCreating" } },
        lastState: {},
        behaviour: this.behaviourFor(c.image ?? ""),
        backoff: BACKOFF_START,
        cancel: [],
      })),
    };
    this.pods.set(uid, run);
    // Scheduled onto the node, sandbox created with an IP.
    this.store.mutate(PODS, run.namespace, run.name, (o) => {
      (o as Pod).spec.nodeName ??= NODE_NAME;
    });
    run.startTime = this.clock.timestamp();
    run.podIP = this.allocateIp();
    run.sandboxReady = true;
    this.publish(run);
    for (const c of run.containers) this.scheduleStart(run, c, c.behaviour.startSeconds);
  }

  private forget(uid: string): void {
    const run = this.pods.get(uid);
    if (!run) return;
    for (const cancel of run.cancel) cancel();
    for (const c of run.containers) this.cancelContainer(c);
    this.pods.delete(uid);
  }

  private scheduleStart(run: PodRun, c: ContainerRun, afterSeconds: number): void {
    c.cancel.push(this.clock.after(afterSeconds, () => this.startContainer(run, c)));
  }

  /** Pull and start the container, under the behaviour its image has now. */
  private startContainer(run: PodRun, c: ContainerRun): void {
    c.behaviour = this.behaviourFor(c.image);
    if (c.behaviour.kind === "imagePullBackOff") return this.failPull(run, c);
    if (c.everRan) c.restartCount++;
    else c.imageID = imageIdOf(c.image, this.pushes.get(normalizeImage(c.image)) ?? 0); // Pulled once, at the first start.
    c.everRan = true;
    c.started = true;
    c.ready = false;
    c.containerID = `containerd://${randomBytes(32).toString("hex")}`;
    c.runningSince = this.clock.nowMs();
    c.state = { running: { startedAt: this.clock.timestamp() } };
    this.planRunning(run, c, false);
    this.publish(run);
  }

  /** What a running container does next under its behaviour. `midRun` when the behaviour changed under it. */
  private planRunning(run: PodRun, c: ContainerRun, midRun: boolean): void {
    const b = c.behaviour;
    const later = (s: number, fn: () => void) => c.cancel.push(this.clock.after(s, fn));
    const becomeReady = (s: number, then?: () => void) =>
      later(s, () => {
        c.ready = true;
        this.publish(run);
        then?.();
      });
    switch (b.kind) {
      case "ready":
        if (!c.ready) becomeReady(b.readyAfterSeconds);
        break;
      case "neverReady":
        if (c.ready) {
          c.ready = false;
          if (!midRun) this.publish(run);
        }
        break;
      case "crashLoop":
        later(b.crashAfterSeconds, () => this.exit(run, c, b.exitCode));
        break;
      case "readyThenFail": {
        const fail = () =>
          later(b.failAfterSeconds, () => {
            if (b.failMode === "crash") return this.exit(run, c, b.exitCode);
            c.ready = false;
            this.publish(run);
          });
        if (c.ready) fail();
        else becomeReady(b.readyAfterSeconds, fail);
        break;
      }
      case "imagePullBackOff":
        break; // an image already pulled keeps running
    }
  }

  /** The process exited: CrashLoopBackOff until the back-off expires, then the next run (restartCount + 1). */
  private exit(run: PodRun, c: ContainerRun, exitCode: number): void {
    const running = c.state.running;
    c.lastState = {
      terminated: {
        exitCode,
        reason: "Error",
        startedAt: running?.startedAt,
        finishedAt: this.clock.timestamp(),
        containerID: c.containerID,
      },
    };
    c.ready = false;
    c.started = false;
    c.runningSince = undefined;
    const backoff = c.backoff;
    c.backoff = Math.min(c.backoff * 2, BACKOFF_MAX);
    c.state = {
      waiting: {
        reason: "CrashLoopBackOff",
        message: `back-off ${formatDuration(backoff)} restarting failed container=${c.name} pod=${run.name}_${run.namespace}(${run.uid})`,
      },
    };
    this.publish(run);
    this.scheduleStart(run, c, backoff);
  }

  /** ErrImagePull, a moment later ImagePullBackOff, and another attempt after the back-off. */
  private failPull(run: PodRun, c: ContainerRun): void {
    const ref = normalizeImage(c.image);
    c.state = {
      waiting: {
        reason: "ErrImagePull",
        message: `rpc error: code = NotFound desc = failed to pull and unpack image "${ref}": failed to resolve reference "${ref}": ${ref}: not found`,
      },
    };
    this.publish(run);
    const backoff = c.backoff;
    c.backoff = Math.min(c.backoff * 2, BACKOFF_MAX);
    c.cancel.push(
      this.clock.after(1, () => {
        c.state = { waiting: { reason: "ImagePullBackOff", message: `Back-off pulling image "${c.image}"` } };
        this.publish(run);
        this.scheduleStart(run, c, backoff);
      }),
    );
  }

  private cancelContainer(c: ContainerRun): void {
    for (const cancel of c.cancel.splice(0)) cancel();
  }

  private publish(run: PodRun): void {
    if (!this.pods.has(run.uid)) return;
    const now = this.clock.timestamp();
    const updated = this.store.mutate(PODS, run.namespace, run.name, (o) => {
      const pod = o as Pod;
      if (pod.metadata.uid !== run.uid) return;
      pod.status = buildPodStatus(
        pod,
        {
          podIP: run.podIP,
          hostIP: NODE_IP,
          startTime: run.startTime,
          sandboxReady: run.sandboxReady,
          containers: run.containers.map((c) => ({
            ...c,
            state: structuredClone(c.state) as ContainerState,
            lastState: structuredClone(c.lastState) as ContainerState,
          })),
        },
        now,
      );
    });
    if (!updated) this.forget(run.uid);
  }

  private allocateIp(): string {
    const n = this.nextIp++;
    return `10.244.${Math.floor(n / 250) % 250}.${(n % 250) + 1}`;
  }
}

/** Go's time.Duration formatting for whole seconds: 10s, 40s, 1m20s, 5m0s. */
function formatDuration(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  return m > 0 ? `${m}m${s}s` : `${s}s`;
}
