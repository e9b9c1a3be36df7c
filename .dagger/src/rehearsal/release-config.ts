/**
 * The release.yaml a rehearsal releases with: production's own (kubernetes/production/release.yaml: services,
 * weights, deadlines, health limits, observed split) with only what a local cluster needs changed: the router the
 * rehearsal installed, public URLs under .localhost over plain HTTP (as kubernetes/local's overlays route them),
 * short observation windows, and no production cluster pin. Derived, not copied, so the rehearsal follows
 * production's config as it changes.
 */
import { parse, stringify } from "yaml";
import { parseReleaseConfig } from "../config/load.ts";
import { UsageError } from "../errors.ts";

export const ROUTERS = ["ingress-nginx", "gateway-api"] as const;
export type RehearsalRouter = (typeof ROUTERS)[number];

export function isRehearsalRouter(value: string): value is RehearsalRouter {
  return (ROUTERS as readonly string[]).includes(value);
}

/** Each phase is watched this long in a rehearsal (production watches minutes, with real users on the canary). */
export const REHEARSAL_OBSERVE = "15s";
/** Smoke probes during observation this far apart, so a 15 s window probes a few times. */
export const REHEARSAL_PROBE_INTERVAL = "5s";

/** A public host's local twin: the last label becomes "localhost" (app.qualisys.io → app.qualisys.localhost). */
export function localHost(host: string): string {
  const h = host.toLowerCase().replace(/\.$/, "");
  return h.includes(".") ? h.replace(/\.[^.]+$/, ".localhost") : `${h}.localhost`;
}

type Doc = Record<string, unknown> & {
  router?: Record<string, unknown>;
  services?: Array<Record<string, unknown> & { name?: string; smoke?: Record<string, unknown> }>;
  phases?: Array<Record<string, unknown>>;
  smoke?: Record<string, unknown>;
};

export interface RehearsalConfig {
  /** The YAML to pass as --config. */
  text: string;
  /** Each service's local public URL, e.g. qualisys-web → http://app.qualisys.localhost. */
  urls: Record<string, string>;
  namespace: string;
}

/** production release.yaml's text → the rehearsal's, validated by the same schema deploy uses. */
export function rehearsalReleaseConfig(
  productionText: string,
  router: RehearsalRouter,
  source = "kubernetes/production/release.yaml",
): RehearsalConfig {
  const production = parseReleaseConfig(productionText, source);
  const doc = structuredClone(parse(productionText)) as Doc;
  delete doc.cluster;
  doc.router = { ...(doc.router ?? {}), kind: router };
  const urls: Record<string, string> = {};
  doc.services = (doc.services ?? []).map((s, i) => {
    const publicUrl = new URL(production.services[i].smoke.url);
    const url = `http://${localHost(publicUrl.hostname)}${publicUrl.pathname === "/" ? "" : publicUrl.pathname}`;
    urls[production.services[i].name] = url;
    return { ...s, smoke: { ...(s.smoke ?? {}), url } };
  });
  doc.phases = production.phases.map((p) => ({ weight: p.weight, observe: REHEARSAL_OBSERVE }));
  doc.smoke = { ...(doc.smoke ?? {}), probeInterval: REHEARSAL_PROBE_INTERVAL };
  const text = `# Derived by the rehearsal from ${source}: router ${router}, local URLs, ${REHEARSAL_OBSERVE} observation windows.\n${stringify(doc)}`;
  try {
    parseReleaseConfig(text, "the rehearsal's release.yaml");
  } catch (err) {
    throw new UsageError(`cannot rehearse with ${source}: ${(err as Error).message}`);
  }
  return { text, urls, namespace: production.namespace };
}
