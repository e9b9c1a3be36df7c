/**
 * Where production stands at the end of a run, said only after checking it: stable's Available replicas (the run's
 * watch), the live canary weights (as verified, or read once), and whether the routes still reach stable (the main
 * Ingress or HTTPRoute, the stable Services: each router says for itself). "All traffic on a healthy stable" is
 * claimed only when all of that holds; otherwise the sentence says plainly what is wrong.
 */
import { describeApiError } from "../kube/api-errors.ts";
import { containerImage } from "../kube/deployments.ts";
import { type EndState, type Run, servicesOf } from "./context.ts";

const round = (n: number) => Math.round(n * 10) / 10;

export async function checkEndState(run: Run): Promise<EndState> {
  const { cluster } = run;
  const ns = run.env.config.namespace;
  const problems: string[] = [];
  const stables: string[] = [];
  const canaries: string[] = [];
  for (const s of servicesOf(run)) {
    const stable = cluster.deployment(s.stable.deployment);
    const canary = cluster.deployment(s.canary.deployment);
    if (!stable) problems.push(`Deployment ${ns}/${s.stable.deployment} (stable of ${s.name}) does not exist`);
    else {
      const available = stable.status?.availableReplicas ?? 0;
      const desired = stable.spec?.replicas ?? 0;
      stables.push(`${containerImage(stable, s.container) ?? "?"} (${available}/${desired} available)`);
      if (available === 0) {
        problems.push(
          `stable ${s.stable.deployment} has no Available pod` +
            (desired === 0 ? ` (it was scaled to 0; the release found ${s.stable.replicas} replicas)` : ` (0 of ${desired})`),
        );
      }
    }
    const n = canary?.spec?.replicas ?? 0;
    canaries.push(canary ? `${n} replica${n === 1 ? "" : "s"}` : `${s.canary.deployment} missing (no pod of it serves)`);
  }
  const weights = await run.routing.weights({ reuseVerified: true });
  const routeProblems = await run.routing
    .stableRouteProblems()
    .catch((err: unknown) => [`the routes could not be checked (${describeApiError(err)})`]);
  problems.push(...routeProblems);
  const shown = weights.map((w) => (w.weight === null ? `unreadable (${w.error})` : String(round(w.weight)))).join("/");
  const atZero = weights.every((w) => w.weight === 0);
  const canaryAt = `canary at weight ${shown} and ${[...new Set(canaries)].join(", ")}`;
  if (problems.length) {
    return {
      healthy: false,
      weights,
      summary: `production is NOT healthy: ${problems.join("; ")}. Stable runs ${stables.join(", ") || "nothing"}; ${canaryAt}`,
    };
  }
  return {
    healthy: true,
    weights,
    summary: atZero ? `all traffic on stable running ${stables.join(", ")}; ${canaryAt}` : `stable runs ${stables.join(", ")}; ${canaryAt}`,
  };
}

/**
 * What each service runs at the end, the live weights and whether production is healthy (end-state.ts), once per
 * run: the record's final state says it, after what the body said (a canary held for the operator, nothing done).
 */
export async function describeEnd(run: Run): Promise<EndState> {
  if (run.end) return run.end;
  const { record, cluster } = run;
  const services = servicesOf(run);
  for (const out of record.services) {
    const s = services.find((x) => x.name === out.name);
    if (!s) continue;
    if (s.canary.digest) out.digest = s.canary.digest;
    const stable = cluster.deployment(s.stable.deployment);
    const canary = cluster.deployment(s.canary.deployment);
    out.finalImage = stable ? containerImage(stable, s.container) : undefined;
    out.finalStableReplicas = stable?.status?.availableReplicas ?? 0;
    out.finalCanaryReplicas = canary?.spec?.replicas ?? 0;
  }
  const end = await checkEndState(run);
  run.end = end;
  record.finalWeights = end.weights.map((w) => w.weight ?? -1);
  record.finalState = record.finalState ? `${record.finalState}. ${capitalized(end.summary)}` : end.summary;
  return end;
}

const capitalized = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
