/** What production runs now: images and replicas per service, live weights, the lock, any release in flight. */
import { describeRouter } from "../traffic/index.ts";
import type { PipelineEnv } from "./context.ts";
import { readLock, type LockInfo } from "../kube/lease-lock.ts";
import { containerImage } from "../kube/deployments.ts";
import { buildRouters } from "./production.ts";
import { describeInFlight } from "./release.ts";
import { corruptStateAdvice, inspectInFlight, type InFlight } from "./state.ts";

export interface ProductionStatus {
  namespace: string;
  services: Array<{
    name: string;
    stable: { image?: string; replicas: number; available: number };
    canary: { image?: string; replicas: number; available: number };
  }>;
  weights: Array<{ router: string; weight: number | null; error?: string }>;
  lock: LockInfo | null;
  inFlight: (Omit<InFlight, "record" | "services"> & { summary: string; /** The two ways out, as commands. */ options: string[] }) | null;
  /** The state ConfigMap exists but cannot be read as a release (truncated, hand-edited): what is wrong and what to do. */
  stateUnreadable: { reason: string; advice: string } | null;
  /** Resting (I4): all weights 0 and every canary at 0 replicas, nothing in flight. */
  resting: boolean;
}

export async function readStatus(env: Pick<PipelineEnv, "kube" | "config">): Promise<ProductionStatus> {
  const { kube, config } = env;
  const ns = config.namespace;
  const services = await Promise.all(
    config.services.map(async (s) => {
      const [stable, canary] = await Promise.all([
        kube.apps.readNamespacedDeployment({ name: s.stable.deployment, namespace: ns }),
        kube.apps.readNamespacedDeployment({ name: s.canary.deployment, namespace: ns }),
      ]);
      const side = (d: typeof stable) => ({
        image: containerImage(d, s.container),
        replicas: d.spec?.replicas ?? 0,
        available: d.status?.availableReplicas ?? 0,
      });
      return { name: s.name, stable: side(stable), canary: side(canary) };
    }),
  );
  const weights = await Promise.all(
    buildRouters(kube, config).map(async (r) => {
      try {
        return { router: describeRouter(r), weight: await r.getWeight() };
      } catch (err) {
        return { router: describeRouter(r), weight: null, error: (err as Error).message };
      }
    }),
  );
  const lock = (await readLock(kube, ns)) ?? null;
  const stored = await inspectInFlight(kube, ns);
  const inFlight = stored.kind === "ok" ? stored.state : undefined;
  const { record: _record, services: _services, ...flight } = inFlight ?? ({} as InFlight);
  return {
    namespace: ns,
    services,
    weights,
    lock,
    inFlight: inFlight
      ? {
          ...flight,
          summary: describeInFlight(inFlight),
          options: [`release-gate rollback`, `release-gate deploy --tag ${inFlight.tag} --resume`],
        }
      : null,
    stateUnreadable: stored.kind === "corrupt" ? { reason: stored.reason, advice: corruptStateAdvice(stored.reason) } : null,
    resting: stored.kind === "none" && weights.every((w) => w.weight === 0) && services.every((s) => s.canary.replicas === 0),
  };
}

export function statusToText(st: ProductionStatus): string {
  const lines = [`namespace ${st.namespace}: ${st.resting ? "at rest (all traffic on stable, canary at 0)" : "NOT at rest"}`, ""];
  for (const s of st.services) {
    lines.push(`${s.name}`);
    lines.push(`  stable  ${s.stable.image ?? "?"}  ${s.stable.available}/${s.stable.replicas} available`);
    lines.push(`  canary  ${s.canary.image ?? "?"}  ${s.canary.available}/${s.canary.replicas} available`);
  }
  lines.push("", "canary weights:");
  for (const w of st.weights)
    lines.push(`  ${w.router}: ${w.weight === null ? `unreadable (${w.error})` : `${Math.round(w.weight * 10) / 10}%`}`);
  lines.push(
    "",
    `lock: ${st.lock ? `${st.lock.holder}, renewed ${st.lock.renewedAt}, ${st.lock.expired ? "EXPIRED (holder presumed dead)" : `expires ${st.lock.expiresAt}`}` : "free"}`,
  );
  if (st.stateUnreadable) {
    lines.push(`in flight: UNREADABLE — ${st.stateUnreadable.advice}.`);
    return lines.join("\n") + "\n";
  }
  lines.push(
    `in flight: ${st.inFlight ? `${st.inFlight.summary}. Repair with \`${st.inFlight.options[0]}\` (back to the previous version), or continue it with \`${st.inFlight.options[1]}\` (redoes the interrupted step after checking production still matches the record).` : "none"}`,
  );
  return lines.join("\n") + "\n";
}
