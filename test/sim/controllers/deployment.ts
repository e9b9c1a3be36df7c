/**
 * The Deployment controller: one ReplicaSet per pod template (`<deployment>-<pod-template-hash>`), rolling
 * updates within maxSurge/maxUnavailable, Recreate, proportional scaling, paused Deployments, revisions (a
 * rollback is a template change back to an old ReplicaSet's template: that ReplicaSet is reused and takes the
 * next revision number), revisionHistoryLimit pruning, and the status kubectl reads: observedGeneration,
 * replica counts, and the Available / Progressing conditions including ProgressDeadlineExceeded.
 *
 * The order of operations follows the documented behaviour of kube-controller-manager's deployment controller
 * (sync.go, rolling.go, recreate.go, progress.go), so `kubectl rollout status|history|undo` and
 * `kubectl wait --for=condition=Available` see what they would see on a real cluster.
 */
import type { Clock } from "../clock.ts";
import { StoreError, type Store } from "../store.ts";
import { semanticEqual } from "./canonical.ts";
import {
  byCreation,
  deploymentComplete,
  deploymentProgressing,
  deploymentTimedOut,
  DESIRED_REPLICAS,
  equalIgnoreHash,
  FOUND_NEW_RS_REASON,
  HASH_LABEL,
  hasProgressDeadline,
  isRecreate,
  MAX_REPLICAS,
  maxRevision,
  maxSurge,
  maxUnavailable,
  MIN_AVAILABLE_REASON,
  MIN_UNAVAILABLE_REASON,
  NEW_RS_AVAILABLE_REASON,
  NEW_RS_REASON,
  newCondition,
  PAUSED_REASON,
  progressDeadline,
  removeCondition,
  replicasOf,
  RESUMED_REASON,
  REVISION,
  revisionHistoryLimit,
  revisionOf,
  RS_UPDATED_REASON,
  rsReplicas,
  setCondition,
  setNewReplicaSetAnnotations,
  setReplicasAnnotations,
  sumSpec,
  sumStatus,
  TIMED_OUT_REASON,
  type DeploymentStatus,
} from "./deployment-util.ts";
import { podTemplateHash } from "./names.ts";
import { WorkQueue } from "./queue.ts";
import { controllerOf, DEPLOYMENTS, PODS, REPLICASETS, type Condition, type Deployment, type Pod, type ReplicaSet } from "./types.ts";

export class DeploymentController {
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly queue: WorkQueue;
  private readonly unsubscribe: Array<() => void> = [];
  private readonly deadlineTimers = new Map<string, () => void>();

  constructor(store: Store, clock: Clock, onError?: (key: string, err: unknown) => void) {
    this.store = store;
    this.clock = clock;
    this.queue = new WorkQueue((key) => this.sync(key), onError);
  }

  start(): void {
    this.unsubscribe.push(
      this.store.watch(DEPLOYMENTS, undefined, undefined, (e) =>
        this.queue.add(`${e.object.metadata.namespace}/${e.object.metadata.name}`),
      ),
    );
    this.unsubscribe.push(
      this.store.watch(REPLICASETS, undefined, undefined, (e) => {
        const owner = controllerOf(e.object);
        if (owner?.kind === "Deployment") this.queue.add(`${e.object.metadata.namespace}/${owner.name}`);
      }),
    );
    // Recreate waits for old pods to be gone, which only pod deletions reveal.
    this.unsubscribe.push(
      this.store.watch(PODS, undefined, undefined, (e) => {
        if (e.type !== "DELETED") return;
        const rsRef = controllerOf(e.object);
        if (rsRef?.kind !== "ReplicaSet") return;
        const rs = this.store.get(REPLICASETS, e.object.metadata.namespace, rsRef.name);
        const owner = rs && controllerOf(rs);
        if (owner?.kind === "Deployment") this.queue.add(`${e.object.metadata.namespace}/${owner.name}`);
      }),
    );
    for (const d of this.store.list(DEPLOYMENTS).items) this.queue.add(`${d.metadata.namespace}/${d.metadata.name}`);
  }

  stop(): void {
    for (const u of this.unsubscribe.splice(0)) u();
    for (const cancel of this.deadlineTimers.values()) cancel();
    this.deadlineTimers.clear();
    this.queue.stop();
  }

  private sync(key: string): void {
    const [namespace, name] = key.split("/") as [string, string];
    const found = this.store.get(DEPLOYMENTS, namespace, name) as Deployment | undefined;
    if (!found) {
      this.deadlineTimers.get(key)?.();
      this.deadlineTimers.delete(key);
      return;
    }
    const ctx: SyncContext = { d: found, key };
    const rsList = this.ownedReplicaSets(ctx.d);
    this.checkPausedConditions(ctx);
    if (ctx.d.spec.paused || this.isScalingEvent(ctx, rsList)) {
      this.syncScaleOnly(ctx, rsList);
    } else if (isRecreate(ctx.d)) {
      this.rolloutRecreate(ctx, rsList);
    } else {
      this.rolloutRolling(ctx, rsList);
    }
    this.requeueStuck(ctx);
  }

  private ownedReplicaSets(d: Deployment): ReplicaSet[] {
    return (this.store.list(REPLICASETS, d.metadata.namespace).items as ReplicaSet[]).filter(
      (rs) => controllerOf(rs)?.uid === d.metadata.uid,
    );
  }

  // ---- deployment writes -------------------------------------------------------------------------------

  private writeDeployment(ctx: SyncContext, fn: (d: Deployment) => void): void {
    const updated = this.store.mutate(DEPLOYMENTS, ctx.d.metadata.namespace, ctx.d.metadata.name, (o) => {
      const d = o as Deployment;
      if (d.metadata.uid !== ctx.d.metadata.uid) throw new StoreError(409, "Conflict", "deployment was replaced");
      fn(d);
    });
    if (!updated) throw new StoreError(404, "NotFound", `deployment ${ctx.key} is gone`);
    // Keep the generation this sync observed: a spec change in between gets its own sync.
    ctx.d = { ...(updated as Deployment), spec: ctx.d.spec, metadata: { ...updated.metadata, generation: ctx.d.metadata.generation } };
  }

  private checkPausedConditions(ctx: SyncContext): void {
    const d = ctx.d;
    if (!hasProgressDeadline(d)) return;
    const cond = d.status?.conditions?.find((c) => c.type === "Progressing");
    if (cond?.reason === TIMED_OUT_REASON) return; // a reported lack of progress is never overwritten
    const pausedCondExists = cond?.reason === PAUSED_REASON;
    let c: Condition | undefined;
    if (d.spec.paused && !pausedCondExists) c = newCondition(this.clock, "Progressing", "Unknown", PAUSED_REASON, "Deployment is paused");
    else if (!d.spec.paused && pausedCondExists)
      c = newCondition(this.clock, "Progressing", "Unknown", RESUMED_REASON, "Deployment is resumed");
    if (!c) return;
    const cc = c;
    this.writeDeployment(ctx, (o) => {
      o.status = { ...o.status, conditions: setCondition(o.status?.conditions ?? [], cc) };
    });
  }

  // ---- ReplicaSets -------------------------------------------------------------------------------------

  /** Find (or create) the new ReplicaSet and sync revisions; the others are the old ones. */
  private getAllReplicaSetsAndSyncRevision(
    ctx: SyncContext,
    rsList: ReplicaSet[],
    create: boolean,
  ): { newRS?: ReplicaSet; oldRSs: ReplicaSet[] } {
    const sorted = [...rsList].sort(byCreation);
    const existing = sorted.find((rs) => equalIgnoreHash(rs.spec.template, ctx.d.spec.template));
    const oldRSs = sorted.filter((rs) => rs !== existing);
    const newRevision = maxRevision(oldRSs) + 1;
    const d = ctx.d;

    if (existing) {
      let rs = structuredClone(existing);
      const annotationsChanged = setNewReplicaSetAnnotations(d, rs, newRevision, true);
      const minReadyChanged = (rs.spec.minReadySeconds ?? 0) !== (d.spec.minReadySeconds ?? 0);
      if (annotationsChanged || minReadyChanged) {
        rs.spec.minReadySeconds = d.spec.minReadySeconds ?? 0;
        rs = this.store.update(REPLICASETS, rs) as ReplicaSet;
      }
      const revision = rs.metadata.annotations?.[REVISION] ?? "";
      const needsRevision = d.metadata.annotations?.[REVISION] !== revision;
      const needsCond = hasProgressDeadline(d) && !d.status?.conditions?.some((c) => c.type === "Progressing");
      if (needsRevision || needsCond) {
        const cond = newCondition(this.clock, "Progressing", "True", FOUND_NEW_RS_REASON, `Found new replica set "${rs.metadata.name}"`);
        this.writeDeployment(ctx, (o) => {
          o.metadata.annotations = { ...o.metadata.annotations, [REVISION]: revision };
          if (needsCond) o.status = { ...o.status, conditions: setCondition(o.status?.conditions ?? [], cond) };
        });
      }
      return { newRS: rs, oldRSs };
    }
    if (!create) return { oldRSs };

    const collisionCount = d.status?.collisionCount ?? 0;
    const template = structuredClone(d.spec.template);
    const hash = podTemplateHash(template, collisionCount);
    template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, [HASH_LABEL]: hash } };
    const selector = structuredClone(d.spec.selector ?? {});
    selector.matchLabels = { ...selector.matchLabels, [HASH_LABEL]: hash };
    const rs: ReplicaSet = {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: {
        name: `${d.metadata.name}-${hash}`,
        namespace: d.metadata.namespace,
        labels: { ...template.metadata.labels },
        ownerReferences: [
          {
            apiVersion: "apps/v1",
            kind: "Deployment",
            name: d.metadata.name,
            uid: d.metadata.uid!,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: { replicas: 0, minReadySeconds: d.spec.minReadySeconds ?? 0, selector, template },
    };
    rs.spec.replicas = this.newRSNewReplicas(d, [...oldRSs, rs], rs);
    setNewReplicaSetAnnotations(d, rs, newRevision, false);
    let created: ReplicaSet;
    try {
      created = this.store.create(REPLICASETS, rs) as ReplicaSet;
    } catch (err) {
      if (!(err instanceof StoreError && err.code === 409)) throw err;
      const clash = this.store.get(REPLICASETS, d.metadata.namespace, rs.metadata.name) as ReplicaSet | undefined;
      if (clash && controllerOf(clash)?.uid === d.metadata.uid && equalIgnoreHash(clash.spec.template, d.spec.template))
        return { newRS: clash, oldRSs };
      // A hash collision with someone else's ReplicaSet: bump collisionCount and try again with a new hash.
      this.writeDeployment(ctx, (o) => {
        o.status = { ...o.status, collisionCount: collisionCount + 1 };
      });
      throw err;
    }
    const cond = newCondition(this.clock, "Progressing", "True", NEW_RS_REASON, `Created new replica set "${created.metadata.name}"`);
    this.writeDeployment(ctx, (o) => {
      o.metadata.annotations = { ...o.metadata.annotations, [REVISION]: String(newRevision) };
      if (hasProgressDeadline(o)) o.status = { ...o.status, conditions: setCondition(o.status?.conditions ?? [], cond) };
    });
    return { newRS: created, oldRSs };
  }

  private newRSNewReplicas(d: Deployment, allRSs: ReplicaSet[], newRS: ReplicaSet): number {
    if (isRecreate(d)) return replicasOf(d);
    const current = sumSpec(allRSs);
    const maxTotal = replicasOf(d) + maxSurge(d);
    if (current >= maxTotal) return rsReplicas(newRS);
    const scaleUp = Math.min(maxTotal - current, replicasOf(d) - rsReplicas(newRS));
    return rsReplicas(newRS) + scaleUp;
  }

  /** Set a ReplicaSet's size and its desired/max-replicas annotations; returns the stored copy and whether the size changed. */
  private scaleReplicaSet(rs: ReplicaSet, size: number, d: Deployment): { rs: ReplicaSet; scaled: boolean } {
    const copy = structuredClone(rs);
    const sizeChanged = rsReplicas(copy) !== size;
    const annotationsChanged = setReplicasAnnotations(copy, replicasOf(d), replicasOf(d) + maxSurge(d));
    if (!sizeChanged && !annotationsChanged) return { rs, scaled: false };
    copy.spec.replicas = size;
    return { rs: this.store.update(REPLICASETS, copy) as ReplicaSet, scaled: sizeChanged };
  }

  // ---- rolling update ----------------------------------------------------------------------------------

  private rolloutRolling(ctx: SyncContext, rsList: ReplicaSet[]): void {
    const { newRS, oldRSs } = this.getAllReplicaSetsAndSyncRevision(ctx, rsList, true);
    const d = ctx.d;
    let nrs = newRS!;
    let olds = oldRSs;

    // Scale up the new ReplicaSet.
    if (rsReplicas(nrs) !== replicasOf(d)) {
      const target = rsReplicas(nrs) > replicasOf(d) ? replicasOf(d) : this.newRSNewReplicas(d, [...olds, nrs], nrs);
      const r = this.scaleReplicaSet(nrs, target, d);
      nrs = r.rs;
      if (r.scaled) return this.syncRolloutStatus(ctx, [...olds, nrs], nrs);
    }

    // Scale down old ReplicaSets.
    const scaledDown = this.reconcileOldReplicaSets(d, olds, nrs);
    if (scaledDown.total > 0) return this.syncRolloutStatus(ctx, [...scaledDown.oldRSs, nrs], nrs);
    olds = scaledDown.oldRSs;

    if (deploymentComplete(d, d.status ?? {})) olds = this.cleanupDeployment(olds, d);
    this.syncRolloutStatus(ctx, [...olds, nrs], nrs);
  }

  private reconcileOldReplicaSets(d: Deployment, allOld: ReplicaSet[], newRS: ReplicaSet): { oldRSs: ReplicaSet[]; total: number } {
    let olds = [...allOld].sort(byCreation);
    const active = olds.filter((rs) => rsReplicas(rs) > 0);
    if (sumSpec(active) === 0) return { oldRSs: olds, total: 0 };
    const allPods = sumSpec([...olds, newRS]);
    const minAvailable = replicasOf(d) - maxUnavailable(d);
    const newUnavailable = rsReplicas(newRS) - (newRS.status?.availableReplicas ?? 0);
    const maxScaledDown = allPods - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return { oldRSs: olds, total: 0 };

    const replace = (rs: ReplicaSet) => (olds = olds.map((x) => (x.metadata.uid === rs.metadata.uid ? rs : x)));

    // First get rid of unhealthy old pods: they cost no availability.
    let cleaned = 0;
    for (const rs of olds) {
      if (cleaned >= maxScaledDown) break;
      const unhealthy = rsReplicas(rs) - (rs.status?.availableReplicas ?? 0);
      if (rsReplicas(rs) === 0 || unhealthy <= 0) continue;
      const n = Math.min(maxScaledDown - cleaned, unhealthy);
      replace(this.scaleReplicaSet(rs, rsReplicas(rs) - n, d).rs);
      cleaned += n;
    }

    // Then scale down healthy old pods, oldest ReplicaSet first, while keeping minAvailable.
    let scaled = 0;
    const availablePods = sumStatus([...olds, newRS], "availableReplicas");
    if (availablePods > minAvailable) {
      const toScaleDown = availablePods - minAvailable;
      for (const rs of [...olds]) {
        if (scaled >= toScaleDown) break;
        if (rsReplicas(rs) === 0) continue;
        const n = Math.min(rsReplicas(rs), toScaleDown - scaled);
        replace(this.scaleReplicaSet(rs, rsReplicas(rs) - n, d).rs);
        scaled += n;
      }
    }
    return { oldRSs: olds, total: cleaned + scaled };
  }

  // ---- recreate ----------------------------------------------------------------------------------------

  private rolloutRecreate(ctx: SyncContext, rsList: ReplicaSet[]): void {
    let { newRS, oldRSs } = this.getAllReplicaSetsAndSyncRevision(ctx, rsList, false);
    let scaledDown = false;
    oldRSs = oldRSs.map((rs) => {
      if (rsReplicas(rs) === 0) return rs;
      scaledDown = true;
      return this.scaleReplicaSet(rs, 0, ctx.d).rs;
    });
    const all = () => (newRS ? [...oldRSs, newRS] : oldRSs);
    if (scaledDown) return this.syncRolloutStatus(ctx, all(), newRS);
    if (this.oldPodsRunning(oldRSs)) return this.syncRolloutStatus(ctx, all(), newRS);
    if (!newRS) ({ newRS, oldRSs } = this.getAllReplicaSetsAndSyncRevision(ctx, this.ownedReplicaSets(ctx.d), true));
    newRS = this.scaleReplicaSet(newRS!, replicasOf(ctx.d), ctx.d).rs;
    if (deploymentComplete(ctx.d, ctx.d.status ?? {})) oldRSs = this.cleanupDeployment(oldRSs, ctx.d);
    this.syncRolloutStatus(ctx, all(), newRS);
  }

  private oldPodsRunning(oldRSs: ReplicaSet[]): boolean {
    if (sumStatus(oldRSs, "replicas") > 0) return true;
    const uids = new Set(oldRSs.map((rs) => rs.metadata.uid));
    return (
      oldRSs.length > 0 &&
      (this.store.list(PODS, oldRSs[0]!.metadata.namespace).items as Pod[]).some(
        (p) => uids.has(controllerOf(p)?.uid ?? "") && p.status?.phase !== "Failed" && p.status?.phase !== "Succeeded",
      )
    );
  }

  // ---- paused / scaling --------------------------------------------------------------------------------

  private isScalingEvent(ctx: SyncContext, rsList: ReplicaSet[]): boolean {
    const { newRS, oldRSs } = this.getAllReplicaSetsAndSyncRevision(ctx, rsList, false);
    const all = newRS ? [...oldRSs, newRS] : oldRSs;
    return all.some((rs) => {
      if (rsReplicas(rs) === 0) return false;
      const desired = rs.metadata.annotations?.[DESIRED_REPLICAS];
      return desired !== undefined && Number(desired) !== replicasOf(ctx.d);
    });
  }

  private syncScaleOnly(ctx: SyncContext, rsList: ReplicaSet[]): void {
    const { newRS, oldRSs } = this.getAllReplicaSetsAndSyncRevision(ctx, rsList, false);
    this.scale(ctx.d, newRS, oldRSs);
    let olds = this.ownedReplicaSets(ctx.d).filter((rs) => rs.metadata.uid !== newRS?.metadata.uid);
    if (ctx.d.spec.paused) olds = this.cleanupDeployment(olds, ctx.d);
    const nrs = newRS && (this.store.get(REPLICASETS, newRS.metadata.namespace, newRS.metadata.name) as ReplicaSet | undefined);
    const status = this.calculateStatus(nrs ? [...olds, nrs] : olds, nrs, ctx.d);
    this.writeStatusIfChanged(ctx, status);
  }

  /** Scale a Deployment's ReplicaSets to a new spec.replicas: the single active one, or proportionally. */
  private scale(d: Deployment, newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): void {
    const olds = [...oldRSs].sort(byCreation);
    const active = [...olds, ...(newRS ? [newRS] : [])].filter((rs) => rsReplicas(rs) > 0);
    const replicas = replicasOf(d);
    if (active.length <= 1) {
      const target = active[0] ?? newRS ?? olds[olds.length - 1];
      if (target && rsReplicas(target) !== replicas) this.scaleReplicaSet(target, replicas, d);
      return;
    }
    const saturated =
      newRS &&
      newRS.metadata.annotations?.[DESIRED_REPLICAS] === String(replicas) &&
      rsReplicas(newRS) === replicas &&
      (newRS.status?.availableReplicas ?? 0) === replicas;
    if (saturated) {
      for (const rs of olds) if (rsReplicas(rs) > 0) this.scaleReplicaSet(rs, 0, d);
      return;
    }
    if (isRecreate(d)) return;
    const allowed = replicas > 0 ? replicas + maxSurge(d) : 0;
    const toAdd = allowed - sumSpec(active);
    const newerFirst = (a: ReplicaSet, b: ReplicaSet) => rsReplicas(b) - rsReplicas(a) || -byCreation(a, b);
    const olderFirst = (a: ReplicaSet, b: ReplicaSet) => rsReplicas(b) - rsReplicas(a) || byCreation(a, b);
    const ordered = [...active].sort(toAdd > 0 ? newerFirst : olderFirst);
    const sizes = new Map<ReplicaSet, number>();
    let added = 0;
    for (const rs of ordered) {
      let proportion = 0;
      if (toAdd !== 0 && toAdd !== added) {
        const fraction = replicaSetFraction(rs, d);
        proportion = toAdd > 0 ? Math.min(fraction, toAdd - added) : Math.max(fraction, toAdd - added);
      }
      sizes.set(rs, rsReplicas(rs) + proportion);
      added += proportion;
    }
    ordered.forEach((rs, i) => {
      let size = sizes.get(rs)!;
      if (i === 0 && toAdd !== 0) size = Math.max(0, size + toAdd - added); // leftovers go to the largest
      this.scaleReplicaSet(rs, size, d);
    });
  }

  // ---- history -----------------------------------------------------------------------------------------

  /** Delete the oldest unused ReplicaSets beyond revisionHistoryLimit; returns the old ReplicaSets kept. */
  private cleanupDeployment(oldRSs: ReplicaSet[], d: Deployment): ReplicaSet[] {
    const diff = oldRSs.length - revisionHistoryLimit(d);
    if (diff <= 0) return oldRSs;
    const byRevision = [...oldRSs].sort((a, b) => revisionOf(a) - revisionOf(b) || byCreation(a, b));
    const deleted = new Set<string>();
    for (const rs of byRevision.slice(0, diff)) {
      if ((rs.status?.replicas ?? 0) !== 0 || rsReplicas(rs) !== 0 || (rs.metadata.generation ?? 0) > (rs.status?.observedGeneration ?? 0))
        continue;
      try {
        this.store.delete(REPLICASETS, rs.metadata.namespace, rs.metadata.name);
      } catch (err) {
        if (!(err instanceof StoreError && err.code === 404)) throw err;
      }
      deleted.add(rs.metadata.uid!);
    }
    return oldRSs.filter((rs) => !deleted.has(rs.metadata.uid!));
  }

  // ---- status ------------------------------------------------------------------------------------------

  private calculateStatus(allRSs: ReplicaSet[], newRS: ReplicaSet | undefined, d: Deployment): DeploymentStatus {
    const available = sumStatus(allRSs, "availableReplicas");
    const status: DeploymentStatus = {
      observedGeneration: d.metadata.generation,
      replicas: sumStatus(allRSs, "replicas"),
      updatedReplicas: newRS ? (newRS.status?.replicas ?? 0) : 0,
      readyReplicas: sumStatus(allRSs, "readyReplicas"),
      availableReplicas: available,
      unavailableReplicas: Math.max(0, sumSpec(allRSs) - available),
      collisionCount: d.status?.collisionCount,
      conditions: structuredClone(d.status?.conditions ?? []),
    };
    const c =
      available >= replicasOf(d) - maxUnavailable(d)
        ? newCondition(this.clock, "Available", "True", MIN_AVAILABLE_REASON, "Deployment has minimum availability.")
        : newCondition(this.clock, "Available", "False", MIN_UNAVAILABLE_REASON, "Deployment does not have minimum availability.");
    status.conditions = setCondition(status.conditions!, c);
    return status;
  }

  private syncRolloutStatus(ctx: SyncContext, allRSs: ReplicaSet[], newRS: ReplicaSet | undefined): void {
    const d = ctx.d;
    const status = this.calculateStatus(allRSs, newRS, d);
    if (!hasProgressDeadline(d)) status.conditions = removeCondition(status.conditions!, "Progressing");
    const current = d.status?.conditions?.find((c) => c.type === "Progressing");
    const complete = status.replicas === status.updatedReplicas && current?.reason === NEW_RS_AVAILABLE_REASON;
    if (hasProgressDeadline(d) && !complete) {
      const subject = newRS ? `ReplicaSet "${newRS.metadata.name}"` : `Deployment "${d.metadata.name}"`;
      if (deploymentComplete(d, status)) {
        status.conditions = setCondition(
          status.conditions!,
          newCondition(this.clock, "Progressing", "True", NEW_RS_AVAILABLE_REASON, `${subject} has successfully progressed.`),
        );
      } else if (deploymentProgressing(d, status)) {
        const c = newCondition(this.clock, "Progressing", "True", RS_UPDATED_REASON, `${subject} is progressing.`);
        // Progress refreshes lastUpdateTime even with the same reason; lastTransitionTime stays while True.
        if (current) {
          if (current.status === "True") c.lastTransitionTime = current.lastTransitionTime;
          status.conditions = removeCondition(status.conditions!, "Progressing");
        }
        status.conditions = setCondition(status.conditions!, c);
      } else if (deploymentTimedOut(d, status, this.clock.nowMs())) {
        status.conditions = setCondition(
          status.conditions!,
          newCondition(this.clock, "Progressing", "False", TIMED_OUT_REASON, `${subject} has timed out progressing.`),
        );
      }
    }
    this.writeStatusIfChanged(ctx, status);
  }

  private writeStatusIfChanged(ctx: SyncContext, status: DeploymentStatus): void {
    const clean = omitZero(status);
    if (semanticEqual(clean, ctx.d.status ?? {})) return;
    this.writeDeployment(ctx, (o) => {
      o.status = clean;
    });
  }

  /** Re-sync when the progress deadline would pass, so ProgressDeadlineExceeded appears on time. */
  private requeueStuck(ctx: SyncContext): void {
    this.deadlineTimers.get(ctx.key)?.();
    this.deadlineTimers.delete(ctx.key);
    const d = this.store.get(DEPLOYMENTS, ctx.d.metadata.namespace, ctx.d.metadata.name) as Deployment | undefined;
    if (!d || !hasProgressDeadline(d) || d.spec.paused) return;
    const c = d.status?.conditions?.find((x) => x.type === "Progressing");
    if (!c || c.reason === TIMED_OUT_REASON || deploymentComplete(d, d.status ?? {})) return;
    const at = Date.parse(c.lastUpdateTime ?? "") + progressDeadline(d) * 1000;
    const inSeconds = Math.max(0, (at - this.clock.nowMs()) / 1000) + 0.5;
    this.deadlineTimers.set(
      ctx.key,
      this.clock.after(inSeconds, () => this.queue.add(ctx.key)),
    );
  }
}

interface SyncContext {
  d: Deployment;
  key: string;
}

/** Go's RoundToInt32: half away from zero. */
const roundHalfAway = (x: number): number => Math.sign(x) * Math.round(Math.abs(x));

function replicaSetFraction(rs: ReplicaSet, d: Deployment): number {
  if (replicasOf(d) === 0) return -rsReplicas(rs);
  const deploymentReplicas = replicasOf(d) + maxSurge(d);
  const annotated = Number(rs.metadata.annotations?.[MAX_REPLICAS] ?? NaN);
  const base = Number.isFinite(annotated) && annotated > 0 ? annotated : (d.status?.replicas ?? 0);
  if (base === 0) return 0;
  return roundHalfAway((rsReplicas(rs) * deploymentReplicas) / base) - rsReplicas(rs);
}

/** The API omits zero counts (omitempty), so a status with nothing available has no availableReplicas field. */
function omitZero(s: DeploymentStatus): DeploymentStatus {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) {
    if (v === undefined || v === 0) continue;
    if (Array.isArray(v) && v.length === 0) continue;
    out[k] = v;
  }
  return out as DeploymentStatus;
}
