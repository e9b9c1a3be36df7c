/**
 * The release lock (invariant I6): a coordination.k8s.io/v1 Lease per namespace with a holder identity and an
 * expiry. A live holder renews it; a run that died stops renewing, so the lock frees itself after `ttl`.
 * Liveness is judged by renewals: a holder renews every renewIntervalMs(ttl) (ttl/6, at most 10 s, so it does not
 * grow with a long ttl), and one whose last renewal is older than STALE_INTERVALS intervals is stale (dead).
 * `rollback`, `deploy --repair` and `deploy --resume` take over a stale holder; a live one is refused unless
 * forced (`rollback --force`). The run that lost the lock to another identity notices at its next renewal and
 * stops at once without touching production (LockLostError.takenOver): the other run owns production now. A run
 * whose renewals keep failing (API unreachable, nobody else holds it) stops too, before the Lease can expire
 * under it: `signal` is what the pipeline races against.
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
  /** No renewal for STALE_INTERVALS renew intervals (or expired): the holder is taken for dead. */
  stale: boolean;
}

/** Refusal because another run holds the lock: nothing was changed. */
export class LockHeldError extends UsageError {
  readonly lock: LockInfo;
  constructor(namespace: string, lock: LockInfo) {
    super(
      `another run holds the release lock in namespace ${namespace}: ${lock.holder} (since ${lock.acquiredAt ?? "?"}, last renewed ` +
        `${renewedAgo(lock)}, expires ${lock.expiresAt ?? "?"}); ` +
        `nothing was changed. ${lock.stale ? "" : "It is alive (it renews the lock), so it is not taken over: wait for it to finish. "}` +
        `A dead run's lock is taken over by \`release-gate rollback\` (or \`deploy --resume\`/\`--repair\`) once it has not renewed for ` +
        `${STALE_INTERVALS} renew intervals; ` +
        `\`release-gate rollback --force\` takes it from a live run, which then stops without rolling back.`,
    );
    this.name = "LockHeldError";
    this.lock = lock;
  }
}

function renewedAgo(lock: LockInfo): string {
  return lock.renewedAgoMs === undefined ? "never" : `${(lock.renewedAgoMs / 1000).toFixed(1)} s ago`;
}

/** This run can no longer count on holding the lock: taken over by `holder`, or renewals kept failing. */
export class LockLostError extends Error {
  readonly holder: string | undefined;
  constructor(message: string, holder?: string) {
    super(message);
    this.name = "LockLostError";
    this.holder = holder;
  }
  /** Another identity holds the lock now: that run owns production, this one must not touch it. */
  get takenOver(): boolean {
    return Boolean(this.holder);
  }
}

/** The lock lost to another identity, if that is why `signal` was aborted. */
export function takenOverBy(signal: AbortSignal): string | undefined {
  const r: unknown = signal.aborted ? signal.reason : undefined;
  return r instanceof LockLostError && r.takenOver ? r.holder : undefined;
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
  /** Take the lock over from a stale holder (one that stopped renewing: rollback, deploy --repair/--resume). */
  takeOverStale?: boolean;
  /** Take the lock even from a live holder (`rollback --force`): that run stops without touching production. */
  force?: boolean;
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
    const now = new Date();
    const spec = (acquireTime: Date, transitions: number): k8s.V1LeaseSpec => ({
      holderIdentity: opts.identity,
      leaseDurationSeconds: Math.max(1, Math.ceil(opts.ttlMs / 1000)),
      acquireTime: new k8s.V1MicroTime(acquireTime.getTime()),
      renewTime: new k8s.V1MicroTime(now.getTime()),
      leaseTransitions: transitions,
    });
    let existing: k8s.V1Lease | undefined;
    try {
      existing = await kube.coordination.readNamespacedLease({ name: LOCK_NAME, namespace });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (!existing) {
      try {
        const created = await kube.coordination.createNamespacedLease({
          namespace,
          body: {
            apiVersion: "coordination.k8s.io/v1",
            kind: "Lease",
            metadata: { name: LOCK_NAME, namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY } },
            spec: spec(now, 0),
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
    const current = describeLease(existing);
    if (current && current.holder === opts.identity) return new ReleaseLock(kube, namespace, opts, undefined, existing);
    const mayTakeOver = opts.force || (opts.takeOverStale && current?.stale);
    if (current && !current.expired && !mayTakeOver) throw new LockHeldError(namespace, current);
    let taken: k8s.V1Lease;
    try {
      taken = await kube.coordination.replaceNamespacedLease({
        name: LOCK_NAME,
        namespace,
        // resourceVersion makes this a compare-and-swap: two runs that both saw a free lock cannot both win.
        body: { ...existing, spec: spec(now, (existing.spec?.leaseTransitions ?? 0) + 1) },
      });
    } catch (err) {
      if (!isConflict(err)) throw err;
      const racer = await readLease(kube, namespace);
      const info = describeLease(racer);
      // Our own replace, applied and then replayed after a lost answer, conflicts with itself: the lock is ours.
      if (info?.holder === opts.identity) return new ReleaseLock(kube, namespace, opts, current, racer);
      throw new LockHeldError(namespace, info ?? { holder: "unknown (taken concurrently)", expired: false, stale: false });
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
          else if (holder) lose(new LockLostError(`the release lock was taken over by ${holder}`, holder));
          else lose(new LockLostError("the release lock was freed or deleted under this run (its Lease has no holder)"));
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

function readLease(kube: Kube, namespace: string): Promise<k8s.V1Lease | undefined> {
  return ifExists(() => kube.coordination.readNamespacedLease({ name: LOCK_NAME, namespace }));
}
