/**
 * What production runs now: images and replicas per service, live weights, the lock, any release in flight.
 * Read-only. An object that is missing is reported as missing, not as a crash; an API that cannot be reached or
 * refuses is named with its server and what to check.
 */
import type * as k8s from "@kubernetes/client-node";
import { repositoryOf } from "../config/image-ref.ts";
import { FailedError } from "../errors.ts";
import { explainApiFailure, isApiFailure } from "../kube/api-errors.ts";
import { containerImage } from "../kube/deployments.ts";
import { RELEASED_TAG_ANNOTATION } from "../kube/labels.ts";
import { readLock, type LockInfo } from "../kube/lease-lock.ts";
import { routingFor } from "../traffic/routing.ts";
import type { PipelineEnv } from "./context.ts";
import {
  corruptStateAdvice,
  describeInFlight,
  inspectInFlight,
  type InFlightState,
  type StoredState,
  stepLabelOf,
  untrustedBecause,
} from "./journal.ts";

interface Side {
  image?: string;
  /** The tag a Deployment pinned by digest was released as (its template's release-gate.qualisys.io/tag). */
  releasedAs?: string;
  replicas: number;
  available: number;
  /** The Deployment release.yaml names does not exist. */
  missing?: true;
}

export interface ProductionStatus {
  namespace: string;
  services: Array<{ name: string; stable: Side; canary: Side }>;
  weights: Array<{ router: string; weight: number | null; error?: string }>;
  lock: LockInfo | null;
  inFlight:
    | (Pick<InFlightState, "id" | "tag" | "holder" | "startedAt" | "updatedAt" | "step" | "passedWeight" | "promotionStarted"> & {
        /** The step in words ("canary 50%"). */
        stepLabel: string;
        summary: string;
        /** The two ways out, as commands. */
        options: string[];
      })
    | null;
  /** The state ConfigMap exists but cannot be used (truncated, hand-edited, not matching release.yaml): why, and what to do. */
  stateUnreadable: { reason: string; advice: string } | null;
  /** Resting (I4): all weights 0 and every canary at 0 replicas, nothing in flight. */
  resting: boolean;
}

export async function readStatus(env: Pick<PipelineEnv, "kube" | "config">): Promise<ProductionStatus> {
  const { kube, config } = env;
  const ns = config.namespace;
  const server = kube.kc.getCurrentCluster()?.server;
  const explained = <T>(what: string, read: () => Promise<T>) =>
    read().catch((err: unknown) => {
      throw isApiFailure(err) ? new FailedError(`status: could not read ${what}: ${explainApiFailure(err, server, ns)}`) : err;
    });
  // The Deployments first, alone: an API that cannot be reached is reported the same way every time.
  const deployments = await explained(`the Deployments of namespace ${ns}`, () => kube.apps.listNamespacedDeployment({ namespace: ns }));
  const [lock, stored] = await Promise.all([
    explained(`the release lock (Lease ${ns}/release-gate)`, () => readLock(kube, ns)),
    explained(`the in-flight state (ConfigMap ${ns}/release-gate-state)`, () => inspectInFlight(kube, ns)),
  ]);
  const byName = new Map(deployments.items.map((d) => [d.metadata?.name ?? "", d]));
  const side = (d: k8s.V1Deployment | undefined, container: string): Side => {
    if (!d) return { replicas: 0, available: 0, missing: true };
    const releasedAs = d.spec?.template?.metadata?.annotations?.[RELEASED_TAG_ANNOTATION];
    return {
      image: containerImage(d, container),
      ...(releasedAs ? { releasedAs } : {}),
      replicas: d.spec?.replicas ?? 0,
      available: d.status?.availableReplicas ?? 0,
    };
  };
  const services = config.services.map((s) => ({
    name: s.name,
    stable: side(byName.get(s.stable.deployment), s.container),
    canary: side(byName.get(s.canary.deployment), s.container),
  }));
  const weights = await routingFor(kube, config).weights();
  const usable = trusted(stored, config);
  const inFlight = usable.kind === "ok" ? usable.state : undefined;
  return {
    namespace: ns,
    services,
    weights,
    lock: lock ?? null,
    inFlight: inFlight
      ? {
          id: inFlight.id,
          tag: inFlight.tag,
          holder: inFlight.holder,
          startedAt: inFlight.startedAt,
          updatedAt: inFlight.updatedAt,
          step: inFlight.step,
          stepLabel: stepLabelOf(inFlight.step),
          passedWeight: inFlight.passedWeight,
          promotionStarted: inFlight.promotionStarted,
          summary: describeInFlight(inFlight),
          options: inFlight.step.kind === "done" ? [] : [`release-gate rollback`, `release-gate deploy --tag ${inFlight.tag} --resume`],
        }
      : null,
    stateUnreadable: usable.kind === "corrupt" ? { reason: usable.reason, advice: corruptStateAdvice(usable.reason) } : null,
    resting:
      usable.kind === "none" &&
      weights.every((w) => w.weight === 0) &&
      services.every((s) => s.canary.replicas === 0 && !s.canary.missing && !s.stable.missing),
  };
}

/** A stored state that does not match release.yaml is reported like an unreadable one: nothing can act on it. */
function trusted(stored: StoredState, config: PipelineEnv["config"]): StoredState {
  if (stored.kind !== "ok") return stored;
  const reason = untrustedBecause(stored.state, config);
  return reason ? { kind: "corrupt", reason } : stored;
}

const lockExpiry = (lock: LockInfo): string => (lock.expired ? "EXPIRED (holder presumed dead)" : `expires ${lock.expiresAt}`);

const waysOut = (f: NonNullable<ProductionStatus["inFlight"]>): string =>
  f.step.kind === "done"
    ? `${f.summary}.`
    : `${f.summary}. Repair with \`${f.options[0]}\` (back to the previous version), or continue it with \`${f.options[1]}\` ` +
      "(redoes the interrupted step after checking production still matches the record).";

/** An image pinned by digest is shown with the tag it was released as, `repository:tag@sha256:…` (the digest is what runs). */
function shown(s: Side): string {
  if (!s.image) return "?";
  const at = s.image.indexOf("@");
  return s.releasedAs && at >= 0 && repositoryOf(s.image) === s.image.slice(0, at)
    ? `${s.image.slice(0, at)}:${s.releasedAs}${s.image.slice(at)}`
    : s.image;
}

export function statusToText(st: ProductionStatus): string {
  const lines = [`namespace ${st.namespace}: ${st.resting ? "at rest (all traffic on stable, canary at 0)" : "NOT at rest"}`, ""];
  const side = (s: Side) => (s.missing ? "MISSING (the Deployment does not exist)" : `${shown(s)}  ${s.available}/${s.replicas} available`);
  for (const s of st.services) {
    lines.push(`${s.name}`);
    lines.push(`  stable  ${side(s.stable)}`);
    lines.push(`  canary  ${side(s.canary)}`);
  }
  lines.push("", "canary weights:");
  for (const w of st.weights)
    lines.push(`  ${w.router}: ${w.weight === null ? `unreadable (${w.error})` : `${Math.round(w.weight * 10) / 10}%`}`);
  lines.push("", `lock: ${st.lock ? `${st.lock.holder}, renewed ${st.lock.renewedAt}, ${lockExpiry(st.lock)}` : "free"}`);
  if (st.stateUnreadable) {
    lines.push(`in flight: UNREADABLE — ${st.stateUnreadable.advice}.`);
    return lines.join("\n") + "\n";
  }
  lines.push(`in flight: ${st.inFlight ? waysOut(st.inFlight) : "none"}`);
  return lines.join("\n") + "\n";
}
