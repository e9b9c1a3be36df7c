/**
 * The run's hold on the release lock: taking it (over a dead holder watched to stay silent, or by force, giving a
 * live holder time to see it), and, before a run touches production again after a failure, whether another run owns
 * production now.
 */
import { LOCK_NAME, ReleaseLock, renewIntervalMs, takenOverBy } from "../kube/lease-lock.ts";
import type { PipelineEnv, Run } from "./context.ts";
import { StateOwnedError } from "./journal.ts";

/**
 * The lock, taking it over as allowed: from a holder watched not renewing it (its silence measured on this run's own
 * clock), or by force, when the holder, maybe alive, is given time to see it and stop.
 */
export async function takeLock(env: PipelineEnv, takeOver: "stale" | "force" | undefined): Promise<ReleaseLock> {
  const { kube, config, progress } = env;
  const lock = await ReleaseLock.acquire(kube, config.namespace, {
    identity: env.identity,
    ttlMs: config.lock.ttl,
    ...(takeOver ? { takeOverStale: true } : {}),
    ...(takeOver === "force" ? { force: true } : {}),
    onWaiting: (what) => progress.waiting(what),
  });
  const was = lock.takenOverFrom;
  if (was) {
    if (was.observedSilentMs !== undefined) {
      progress.warn(
        `took the release lock over from ${was.holder} (it did not renew it during the ${(was.observedSilentMs / 1000).toFixed(1)} s this run watched it)`,
      );
    } else {
      progress.warn(
        `took the release lock over from ${was.holder} (--force; it last renewed it at ${was.renewedAt ?? "?"} by its own clock)`,
      );
      // It notices at its next renewal and stops without touching production: wait for that before acting.
      const wait = 2 * renewIntervalMs(Date.parse(was.expiresAt ?? "") - Date.parse(was.renewedAt ?? "") || config.lock.ttl);
      progress.waiting(`${(wait / 1000).toFixed(1)} s for ${was.holder} to see the takeover and stop`);
      await new Promise((r) => setTimeout(r, wait));
    }
  }
  return lock;
}

/**
 * Who owns production now, if not this run: the lock taken over or its Lease deleted (the renewals saw it, or one
 * renewal made now does), or the in-flight state replaced or deleted under it.
 */
export async function ownerInstead(run: Run, err: unknown, held: { holder: string; lock: ReleaseLock }): Promise<string | undefined> {
  const lost = takenOverBy(run.signal) ?? (err instanceof StateOwnedError ? err.holder : undefined);
  if (lost) return lost;
  // The renewals run every few seconds: before touching production again, one renewal now says whether the lock
  // is still this run's. An API that does not answer is no proof of anything: the rollback goes on.
  const holder = await held.lock.renew().catch(() => held.holder);
  if (holder === held.holder) return undefined;
  return holder || `whoever deleted or freed the Lease ${LOCK_NAME}`;
}
