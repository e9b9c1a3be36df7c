/**
 * The release lock (invariant I6): a coordination.k8s.io/v1 Lease per namespace with a holder identity and an
 * expiry. A live holder renews it; a run that died stops renewing, so the lock frees itself after `ttl`.
 * `rollback` may take a held lock over (repairing production must never wait on a dead run); the run that
 * lost it notices at its next renewal and stops.
 */
import { hostname } from "node:os";
import { randomUUID } from "node:crypto";
import * as k8s from "@kubernetes/client-node";
import type { Kube } from "./client.ts";
import { UsageError } from "../errors.ts";
import pRetry, { AbortError } from "p-retry";
import { isConflict, isNotFound } from "./api-errors.ts";

export const LOCK_NAME = "release-gate";

export interface LockInfo {
  holder: string;
  acquiredAt?: string;
  renewedAt?: string;
  expiresAt?: string;
  expired: boolean;
}

/** Refusal because another run holds the lock: nothing was changed. */
export class LockHeldError extends UsageError {
  readonly lock: LockInfo;
  constructor(namespace: string, lock: LockInfo) {
    super(
      `another release holds the lock in namespace ${namespace}: ${lock.holder} (since ${lock.acquiredAt ?? "?"}, renewed ${lock.renewedAt ?? "?"}, expires ${lock.expiresAt ?? "?"}); ` +
        `nothing was changed. If that run is dead, \`release-gate rollback\` takes the lock over and repairs production.`,
    );
    this.name = "LockHeldError";
    this.lock = lock;
  }
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
  return {
    holder: spec.holderIdentity,
    acquiredAt: spec.acquireTime ? new Date(spec.acquireTime as unknown as string).toISOString() : undefined,
    renewedAt: renewed?.toISOString(),
    expiresAt: expires?.toISOString(),
    expired: expires ? expires.getTime() <= now : false,
  };
}

export async function readLock(kube: Kube, namespace: string): Promise<LockInfo | undefined> {
  try {
    return describeLease(await kube.coordination.readNamespacedLease({ name: LOCK_NAME, namespace }));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export interface AcquireOptions {
  identity: string;
  ttlMs: number;
  /** Take the lock even from a live holder (rollback). The previous holder is reported in `takenOverFrom`. */
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

  private constructor(kube: Kube, namespace: string, opts: AcquireOptions, takenOverFrom: LockInfo | undefined) {
    this.kube = kube;
    this.namespace = namespace;
    this.identity = opts.identity;
    this.ttlMs = opts.ttlMs;
    this.takenOverFrom = takenOverFrom;
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
        await kube.coordination.createNamespacedLease({
          namespace,
          body: { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: LOCK_NAME, namespace, labels: { "app.kubernetes.io/managed-by": "release-gate" } }, spec: spec(now, 0) },
        });
        return new ReleaseLock(kube, namespace, opts, undefined);
      } catch (err) {
        if (!isConflict(err)) throw err;
        // Someone created it between our read and create: they hold it now.
        const racer = await readLock(kube, namespace);
        throw new LockHeldError(namespace, racer ?? { holder: "unknown (created concurrently)", expired: false });
      }
    }
    const current = describeLease(existing);
    if (current && current.holder === opts.identity) return new ReleaseLock(kube, namespace, opts, undefined);
    if (current && !current.expired && !opts.force) throw new LockHeldError(namespace, current);
    try {
      await kube.coordination.replaceNamespacedLease({
        name: LOCK_NAME,
        namespace,
        // resourceVersion makes this a compare-and-swap: two runs that both saw a free lock cannot both win.
        body: { ...existing, spec: spec(now, (existing.spec?.leaseTransitions ?? 0) + 1) },
      });
    } catch (err) {
      if (!isConflict(err)) throw err;
      const racer = await readLock(kube, namespace);
      throw new LockHeldError(namespace, racer ?? { holder: "unknown (taken concurrently)", expired: false });
    }
    return new ReleaseLock(kube, namespace, opts, current);
  }

  /** Renew every ttl/3 until released; `onLost` is called once if another run took the lock. */
  startRenewing(onLost: (holder: string) => void): void {
    const interval = Math.max(200, Math.floor(this.ttlMs / 3));
    this.timer = setInterval(() => {
      this.renewing = this.renew().then(
        (holder) => {
          if (holder !== this.identity && !this.lost) {
            this.lost = true;
            this.stopRenewing();
            onLost(holder);
          }
        },
        () => undefined, // A failed renewal is retried at the next tick; expiry is ttl, three ticks away.
      );
    }, interval);
    this.timer.unref();
  }

  stopRenewing(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Renew if still ours; returns the holder as the cluster has it. */
  async renew(): Promise<string> {
    const lease = await this.kube.coordination.readNamespacedLease({ name: LOCK_NAME, namespace: this.namespace });
    const holder = lease.spec?.holderIdentity ?? "";
    if (holder !== this.identity) return holder;
    lease.spec = { ...lease.spec, renewTime: new k8s.V1MicroTime() };
    await this.kube.coordination.replaceNamespacedLease({ name: LOCK_NAME, namespace: this.namespace, body: lease });
    return holder;
  }

  /** Free the lock if we still hold it (another run's lock is never cleared). */
  async release(): Promise<void> {
    this.stopRenewing();
    // A renewal already under way would otherwise win the compare-and-swap against us.
    await this.renewing.catch(() => undefined);
    await pRetry(
      async () => {
        const lease = await this.kube.coordination.readNamespacedLease({ name: LOCK_NAME, namespace: this.namespace });
        if (lease.spec?.holderIdentity !== this.identity) return;
        lease.spec = { ...lease.spec, holderIdentity: "", renewTime: new k8s.V1MicroTime() };
        try {
          await this.kube.coordination.replaceNamespacedLease({ name: LOCK_NAME, namespace: this.namespace, body: lease });
        } catch (err) {
          if (isConflict(err)) throw err; // Re-read and try again.
          throw new AbortError(err as Error);
        }
      },
      { retries: 5, minTimeout: 20, maxTimeout: 200 },
    );
  }
}
