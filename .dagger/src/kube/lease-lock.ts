/**
 * The release lock (invariant I6): a coordination.k8s.io/v1 Lease per namespace with a holder identity and an
 * expiry. A live holder renews it every renewIntervalMs(ttl) (ttl/6, at most 10 s, so it does not grow with a long
 * ttl); a run that died stops renewing.
 *
 * Whether a holder is dead is judged as Kubernetes leader election judges it: by watching its Lease NOT change for
 * STALE_INTERVALS of its renew intervals, measured on the observer's own monotonic clock, never by comparing the
 * holder's renewTime with the local clock (two machines' clocks may be minutes apart). `rollback`, `deploy --repair`
 * and `deploy --resume` take a holder over once they have seen it silent that long (the takeover is a
 * compare-and-swap on the Lease as first read, so a renewal in between makes it fail); any other command is refused
 * a held lock, and `rollback --force` takes it from a live run. The run that lost the lock notices at its next
 * renewal (taken over, deleted or freed) and stops at once without touching production (LockLostError): another run
 * may own production now. A run whose renewals keep failing (API unreachable, nobody else holds it) stops too,
 * before others could see it silent: `signal` is what the pipeline races against.
 */
import { hostname } from "node:os";
import { randomUUID } from "node:crypto";
import * as k8s from "@kubernetes/client-node";
import type { Kube } from "./client.ts";
import { UsageError } from "../errors.ts";
import pRetry, { AbortError } from "p-retry";
import { describeApiError, ifExists, isConflict, isNotFound } from "./api-errors.ts";
import { MANAGED_BY, MANAGED_BY_LABEL } from "./labels.ts";

export const LOCK_NAME = "release-gate";

/** How often a holder renews: ttl/6, between 200 ms and 10 s (a 15 min ttl must not mean renewals every 2.5 min). */
export function renewIntervalMs(ttlMs: number): number {
  return Math.min(10_000, Math.max(200, Math.floor(ttlMs / 6)));
}

/** A holder whose last renewal is older than this many of its renew intervals is taken for dead. */
export const STALE_INTERVALS = 3;

export interface LockInfo {
  holder: string;
  acquiredAt?: string;
  renewedAt?: string;
  expiresAt?: string;
  expired: boolean;
  /** Milliseconds since the holder last renewed (undefined when the Lease has no renewTime). */
  renewedAgoMs?: number;
  /**
   * By the local clock, no renewal for STALE_INTERVALS renew intervals (or expired): what `status` shows. Only a
   * hint: takeovers are decided by watching the Lease (observedSilentMs), never by this.
   */
  stale: boolean;
  /** A takeover: how long this run watched the holder not renew its Lease (its own elapsed time) before taking it. */
  observedSilentMs?: number;
}

/** Refusal because another run holds the lock: nothing was changed. */
export class LockHeldError extends UsageError {
  readonly lock: LockInfo;
  /** The holder renewed the Lease while this run watched it: it is alive. */
  readonly alive: boolean;
  constructor(namespace: string, lock: LockInfo, opts: { alive?: boolean } = {}) {
    const silence = staleWindowMs(lock);
    super(
      `another run holds the release lock in namespace ${namespace}: ${lock.holder} (since ${lock.acquiredAt ?? "?"}, last renewed ` +
        `${lock.renewedAt ?? "never"}); nothing was changed. ` +
        (opts.alive ? "It is alive (it renewed the lock while this run watched), so it is not taken over: wait for it to finish. " : "") +
        `A dead run's lock is taken over by \`release-gate rollback\` (or \`deploy --resume\`/\`--repair\`) once it has watched it ` +
        `not renew for ${(silence / 1000).toFixed(1)} s (${STALE_INTERVALS} renew intervals); ` +
        `\`release-gate rollback --force\` takes it from a live run, which then stops without rolling back.`,
    );
    this.name = "LockHeldError";
    this.lock = lock;
    this.alive = opts.alive ?? false;
  }
}

/** How long a holder must be seen not renewing before it is taken for dead: STALE_INTERVALS of its renew intervals. */
export function staleWindowMs(lock: Pick<LockInfo, "renewedAt" | "expiresAt">): number {
  const ttl = Date.parse(lock.expiresAt ?? "") - Date.parse(lock.renewedAt ?? "");
  return STALE_INTERVALS * renewIntervalMs(Number.isFinite(ttl) && ttl > 0 ? ttl : 0);
}

/**
 * This run can no longer count on holding the lock: taken over by `holder`, its Lease deleted or freed under it
 * ("gone"), or renewals kept failing ("silent").
 */
export class LockLostError extends Error {
  readonly holder: string | undefined;
  readonly how: "taken" | "gone" | "silent";
  constructor(message: string, how: "taken" | "gone" | "silent", holder?: string) {
    super(message);
    this.name = "LockLostError";
    this.how = how;
    this.holder = holder;
  }
  /**
   * Another run may own production now (the lock was taken, or its Lease deleted so anyone could take it): this
   * one must not touch production any more, not even to roll back.
   */
  get takenOver(): boolean {
    return this.how !== "silent";
  }
}

/** Who may own production now, if the lock was lost to another run (taken over, or its Lease deleted) and that is why `signal` aborted. */
export function takenOverBy(signal: AbortSignal): string | undefined {
  const r: unknown = signal.aborted ? signal.reason : undefined;
  if (!(r instanceof LockLostError) || !r.takenOver) return undefined;
  return r.holder ?? `whoever deleted or freed the Lease ${LOCK_NAME} (${r.message})`;
}

/** Who is running: CI actor/run when known, else user@host, plus a unique suffix per run. */
export function defaultIdentity(env: NodeJS.ProcessEnv = process.env): string {
  const who = env.GITHUB_ACTOR ?? env.USER ?? "unknown";
  const where = env.GITHUB_RUN_ID ? `github run ${env.GITHUB_RUN_ID}` : `${hostname()} pid ${process.pid}`;
  return `${who} (${where}) #${randomUUID().slice(0, 8)}`;
}

export function describeLease(lease: k8s.V1Lease | undefined, now = Date.now()): LockInfo | undefined {
  const spec = lease?.spec;
  if (!spec?.holderIdentity) return undefined;
  const renewed = spec.renewTime ? new Date(spec.renewTime as unknown as string) : undefined;
  const expires = renewed && spec.leaseDurationSeconds ? new Date(renewed.getTime() + spec.leaseDurationSeconds * 1000) : undefined;
  const expired = expires ? expires.getTime() <= now : false;
  const renewedAgoMs = renewed ? Math.max(0, now - renewed.getTime()) : undefined;
  const interval = renewIntervalMs((spec.leaseDurationSeconds ?? 0) * 1000);
  return {
    holder: spec.holderIdentity,
    acquiredAt: spec.acquireTime ? new Date(spec.acquireTime as unknown as string).toISOString() : undefined,
    renewedAt: renewed?.toISOString(),
    expiresAt: expires?.toISOString(),
    expired,
    ...(renewedAgoMs !== undefined ? { renewedAgoMs } : {}),
    stale: expired || renewedAgoMs === undefined || renewedAgoMs > STALE_INTERVALS * interval,
  };
}

export async function readLock(kube: Kube, namespace: string): Promise<LockInfo | undefined> {
  return describeLease(await readLease(kube, namespace));
}

export interface AcquireOptions {
  identity: string;
  ttlMs: number;
  /**
   * Take the lock over from a holder seen not renewing it for STALE_INTERVALS of its renew intervals (rollback,
   * deploy --repair/--resume): the acquisition watches the Lease that long before taking it.
   */
  takeOverStale?: boolean;
  /** Take the lock even from a live holder (`rollback --force`): that run stops without touching production. */
  force?: boolean;
  /** Told what the acquisition waits for while it watches a holder (progress output). */
  onWaiting?: (what: string) => void;
}

export class ReleaseLock {
  readonly identity: string;
  readonly takenOverFrom: LockInfo | undefined;
  private readonly kube: Kube;
  private readonly namespace: string;
  private readonly ttlMs: number;
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<unknown> = Promise.resolve();
  private lost = false;
  private readonly lostController = new AbortController();
  /** Local time the last successful renewal (or the acquisition) was sent: the Lease runs ttl from there. */
  private lastRenewedAt = Date.now();
  private lastRenewalError: string | undefined;
  /** The Lease as last written or read by this run: renewals and the release carry its resourceVersion, without a read. */
  private lease: k8s.V1Lease | undefined;

  private constructor(
    kube: Kube,
    namespace: string,
    opts: AcquireOptions,
    takenOverFrom: LockInfo | undefined,
    lease: k8s.V1Lease | undefined,
  ) {
    this.kube = kube;
    this.namespace = namespace;
    this.identity = opts.identity;
    this.ttlMs = opts.ttlMs;
    this.takenOverFrom = takenOverFrom;
    this.lease = lease;
  }

  static async acquire(kube: Kube, namespace: string, opts: AcquireOptions): Promise<ReleaseLock> {
    const spec = (acquireTime: Date, transitions: number): k8s.V1LeaseSpec => ({
      holderIdentity: opts.identity,
      leaseDurationSeconds: Math.max(1, Math.ceil(opts.ttlMs / 1000)),
      acquireTime: new k8s.V1MicroTime(acquireTime.getTime()),
      renewTime: new k8s.V1MicroTime(Date.now()),
      leaseTransitions: transitions,
    });
    const existing = await readLease(kube, namespace);
    if (!existing) {
      try {
        const created = await kube.coordination.createNamespacedLease({
          namespace,
          body: {
            apiVersion: "coordination.k8s.io/v1",
            kind: "Lease",
            metadata: { name: LOCK_NAME, namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY } },
            spec: spec(new Date(), 0),
          },
        });
        return new ReleaseLock(kube, namespace, opts, undefined, created);
      } catch (err) {
        if (!isConflict(err)) throw err;
        // Someone created it between our read and create, or our own create was applied and then replayed
        // (an answer lost after the write): the holder says which.
        const racer = await readLease(kube, namespace);
        const info = describeLease(racer);
        if (info?.holder === opts.identity) return new ReleaseLock(kube, namespace, opts, undefined, racer);
        throw new LockHeldError(namespace, info ?? { holder: "unknown (created concurrently)", expired: false, stale: false });
      }
    }
    let current = describeLease(existing);
    if (current && current.holder === opts.identity) return new ReleaseLock(kube, namespace, opts, undefined, existing);
    if (current && !opts.force) {
      if (!opts.takeOverStale) throw new LockHeldError(namespace, current);
      const silentMs = await watchSilence(kube, namespace, existing, current, opts.onWaiting);
      if (silentMs === "freed") return ReleaseLock.acquire(kube, namespace, opts); // Released or deleted meanwhile: start over.
      current = { ...current, stale: true, observedSilentMs: silentMs };
    }
    let taken: k8s.V1Lease;
    try {
      // resourceVersion (the Lease as first read) makes this a compare-and-swap: a renewal since, or another run
      // taking it first, fails it.
      taken = await kube.coordination.replaceNamespacedLease({
        name: LOCK_NAME,
        namespace,
        body: { ...existing, spec: spec(new Date(), (existing.spec?.leaseTransitions ?? 0) + 1) },
      });
    } catch (err) {
      if (!isConflict(err)) throw err;
      const racer = await readLease(kube, namespace);
      const info = describeLease(racer);
      // Our own replace, applied and then replayed after a lost answer, conflicts with itself: the lock is ours.
      if (info?.holder === opts.identity) return new ReleaseLock(kube, namespace, opts, current, racer);
      throw new LockHeldError(namespace, info ?? { holder: "unknown (taken concurrently)", expired: false, stale: false }, {
        alive: info?.holder === current?.holder,
      });
    }
    return new ReleaseLock(kube, namespace, opts, current, taken);
  }

  /**
   * Renew every renewIntervalMs(ttl) until released. Returns the lock's signal (also `this.signal`), aborted with a
   * LockLostError when another run took the lock over, or when renewals kept failing so long that the Lease
   * may expire or go stale under this run (a failed renewal after half the ttl without a successful one, or a
   * renewal hanging for three quarters of it; in both cases at the latest half an interval before the holder
   * counts as stale, STALE_INTERVALS intervals): from then on another run may legitimately take the lock, so
   * this run must stop moving traffic. `onLost` is called once, too.
   */
  startRenewing(onLost?: (err: LockLostError) => void): AbortSignal {
    const interval = renewIntervalMs(this.ttlMs);
    // Others take a stale holder over; stop before this run can look stale (with a long ttl, long before expiry).
    const beforeStale = (STALE_INTERVALS - 0.5) * interval;
    const failedLimit = Math.min(this.ttlMs / 2, beforeStale);
    const hangLimit = Math.min((this.ttlMs * 3) / 4, beforeStale);
    let attemptStartedAt: number | undefined;
    const lose = (err: LockLostError) => {
      if (this.lost) return;
      this.lost = true;
      this.stopRenewing();
      this.lostController.abort(err);
      onLost?.(err);
    };
    this.timer = setInterval(() => {
      if (this.lost) return;
      if (attemptStartedAt !== undefined) {
        // A renewal still under way (the API hangs): give up once the Lease is close to expiring.
        if (Date.now() - this.lastRenewedAt > hangLimit) lose(this.silenceError());
        return;
      }
      const started = Date.now();
      attemptStartedAt = started;
      this.renewing = this.renew().then(
        (holder) => {
          attemptStartedAt = undefined;
          if (holder === this.identity) this.lastRenewedAt = started;
          else if (holder) lose(new LockLostError(`the release lock was taken over by ${holder}`, "taken", holder));
          else lose(new LockLostError("the release lock was freed or deleted under this run (its Lease has no holder)", "gone"));
        },
        (err: unknown) => {
          attemptStartedAt = undefined;
          this.lastRenewalError = describeApiError(err);
          // One failed renewal is retried at the next tick; past the limit, the Lease may soon be stale or gone.
          if (Date.now() - this.lastRenewedAt > failedLimit) lose(this.silenceError());
        },
      );
    }, interval);
    this.timer.unref();
    return this.signal;
  }

  /** Aborted (reason: LockLostError) once this run can no longer count on holding the lock. */
  get signal(): AbortSignal {
    return this.lostController.signal;
  }

  private silenceError(): LockLostError {
    const silent = Date.now() - this.lastRenewedAt;
    return new LockLostError(
      `could not renew the release lock for ${(silent / 1000).toFixed(1)} s (last renewed ${new Date(this.lastRenewedAt).toISOString()}; ` +
        `other runs may take it over once it is stale, ${((STALE_INTERVALS * renewIntervalMs(this.ttlMs)) / 1000).toFixed(1)} s after that, ` +
        `and it expires ${this.ttlMs / 1000} s after that` +
        `${this.lastRenewalError ? `; last error: ${this.lastRenewalError}` : ""}): another run could take it over, so this run stops moving traffic`,
      "silent",
    );
  }

  stopRenewing(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Renew: one PUT of the Lease as this run last wrote it, with a new renewTime. Its resourceVersion makes it a
   * compare-and-swap, so nothing is read first: a conflict means someone else wrote the Lease (or this very renewal
   * was applied and then replayed), and only then is it read to see who holds it. Returns the holder as the cluster
   * has it ("" when the Lease is gone or freed).
   */
  async renew(): Promise<string> {
    const lease = this.lease ?? (await readLease(this.kube, this.namespace));
    if (!lease) return "";
    if (lease.spec?.holderIdentity !== this.identity) return lease.spec?.holderIdentity ?? "";
    try {
      this.lease = await this.kube.coordination.replaceNamespacedLease({
        name: LOCK_NAME,
        namespace: this.namespace,
        body: { ...lease, spec: { ...lease.spec, renewTime: new k8s.V1MicroTime() } },
      });
      return this.identity;
    } catch (err) {
      if (isNotFound(err)) return ""; // The Lease was deleted under this run: nobody holds it for us any more.
      if (!isConflict(err)) throw err;
      this.lease = await readLease(this.kube, this.namespace);
      const holder = this.lease?.spec?.holderIdentity ?? "";
      // Our own renewal replayed after a lost answer: the Lease read is ours, renewed; the next tick renews from it.
      return holder;
    }
  }

  /** Free the lock if we still hold it (another run's lock is never cleared): one PUT with the cached resourceVersion. */
  async release(): Promise<void> {
    this.stopRenewing();
    // A renewal already under way would otherwise win the compare-and-swap against us.
    await this.renewing.catch(() => undefined);
    await pRetry(
      async () => {
        const lease = this.lease ?? (await readLease(this.kube, this.namespace));
        if (!lease || lease.spec?.holderIdentity !== this.identity) return;
        try {
          this.lease = await this.kube.coordination.replaceNamespacedLease({
            name: LOCK_NAME,
            namespace: this.namespace,
            body: { ...lease, spec: { ...lease.spec, holderIdentity: "", renewTime: new k8s.V1MicroTime() } },
          });
        } catch (err) {
          if (isNotFound(err)) return;
          if (!isConflict(err)) throw new AbortError(err as Error);
          this.lease = undefined; // Re-read and try again.
          throw err;
        }
      },
      { retries: 5, minTimeout: 20, maxTimeout: 200 },
    );
  }
}

/**
 * Watch `holder`'s Lease for STALE_INTERVALS of its renew intervals on this process's monotonic clock (as leader
 * election does: the holder's renewTime is never compared with the local clock), reading it once per interval. Any
 * change (a renewal, another holder) ends the wait with LockHeldError; a lock released or deleted meanwhile with
 * "freed"; otherwise it resolves with the silence observed.
 */
async function watchSilence(
  kube: Kube,
  namespace: string,
  first: k8s.V1Lease,
  holder: LockInfo,
  onWaiting?: (what: string) => void,
): Promise<number | "freed"> {
  const windowMs = staleWindowMs(holder);
  const interval = windowMs / STALE_INTERVALS;
  const started = performance.now();
  onWaiting?.(`${(windowMs / 1000).toFixed(1)} s to see whether ${holder.holder} still renews the release lock (a dead run does not)`);
  for (;;) {
    const left = windowMs - (performance.now() - started);
    if (left <= 0) return performance.now() - started;
    await new Promise((r) => setTimeout(r, Math.min(interval, left)));
    const now = await readLease(kube, namespace);
    if (now?.metadata?.resourceVersion !== first.metadata?.resourceVersion) {
      const info = describeLease(now);
      if (!info) return "freed";
      throw new LockHeldError(namespace, info, { alive: info.holder === holder.holder });
    }
  }
}

/**
 * `lock` judged by what this process saw of it: dead (stale) once its Lease stayed unchanged for the holder's stale
 * window of this process's own elapsed time (`silentMs`). The local clock is never compared with the holder's.
 */
export function judgedBySilence(lock: LockInfo, silentMs: number): LockInfo {
  const stale = silentMs >= staleWindowMs(lock);
  const { observedSilentMs: _hint, ...rest } = lock;
  return { ...rest, stale, ...(stale ? { observedSilentMs: silentMs } : {}) };
}

/**
 * The lock, with its holder judged as takeovers judge it (what `status` says before it offers a repair): a holder
 * that renewed within its stale window by this machine's clock is taken as alive; one the local clock calls stale is
 * watched for its stale window (watchSilence) before it is called dead, since clocks differ. Undefined when no run
 * holds the lock, or it was released while watched.
 */
export async function confirmedLock(kube: Kube, namespace: string, onWaiting?: (what: string) => void): Promise<LockInfo | undefined> {
  const lease = await readLease(kube, namespace);
  const info = describeLease(lease);
  if (!lease || !info || !info.stale) return info;
  try {
    const silent = await watchSilence(kube, namespace, lease, info, onWaiting);
    return silent === "freed" ? undefined : { ...info, stale: true, observedSilentMs: silent };
  } catch (err) {
    // It changed while watched: renewed by its holder, or taken by another run that has just acquired it.
    if (err instanceof LockHeldError) return { ...err.lock, stale: false };
    throw err;
  }
}

function readLease(kube: Kube, namespace: string): Promise<k8s.V1Lease | undefined> {
  return ifExists(() => kube.coordination.readNamespacedLease({ name: LOCK_NAME, namespace }));
}
