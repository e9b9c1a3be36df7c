/**
 * PromQL templating: a check's query is written once, with `{{ name }}` placeholders, and rendered for each
 * service with its namespace, Deployments, Services, routes and the analysis window. Every name is a
 * Kubernetes name or a duration, so a rendered value never needs quoting inside a PromQL string.
 */
import { isTemplateVariable, PLACEHOLDER, type TemplateVariable } from "../config/query-placeholders.ts";
import type { ReleaseConfig, ServiceConfig } from "../config/schema.ts";
import { canaryIngressName } from "../traffic/ingress-nginx.ts";

export { isTemplateVariable, placeholders } from "../config/query-placeholders.ts";
export type TemplateValues = Partial<Record<TemplateVariable, string>>;

/** A duration in milliseconds as PromQL writes it: 1m, 90s, 1500ms. */
export function promDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** What each placeholder stands for, for one service. A route a service does not have is absent. */
export function templateValues(config: Pick<ReleaseConfig, "namespace">, service: ServiceConfig, windowMs: number): TemplateValues {
  return {
    namespace: config.namespace,
    service: service.name,
    stableDeployment: service.stable.deployment,
    canaryDeployment: service.canary.deployment,
    stableService: service.stable.service,
    canaryService: service.canary.service,
    ...(service.route.ingress ? { ingress: service.route.ingress, canaryIngress: canaryIngressName(service.route.ingress) } : {}),
    ...(service.route.httpRoute ? { httpRoute: service.route.httpRoute } : {}),
    window: promDuration(windowMs),
  };
}

/** Render a query; throws naming the placeholder when a value is missing (the schema refuses that at load). */
export function renderQuery(query: string, values: TemplateValues): string {
  return query.replace(PLACEHOLDER, (_, name: string) => {
    const v = isTemplateVariable(name) ? values[name] : undefined;
    if (v === undefined) throw new Error(`the query uses {{ ${name} }}, which has no value here`);
    return v;
  });
}
