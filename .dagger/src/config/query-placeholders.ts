/**
 * The placeholders a metric-analysis query in release.yaml may use (`{{ name }}`): part of release.yaml's language,
 * so the schema refuses an unknown one at load. analysis/template.ts renders them.
 */

/** Every placeholder a query may use, and what it stands for (for docs and error messages). */
export const TEMPLATE_VARIABLES = {
  namespace: "the release's namespace",
  service: "the service's name in release.yaml",
  stableDeployment: "stable's Deployment",
  canaryDeployment: "the canary's Deployment",
  stableService: "stable's Service",
  canaryService: "the canary's Service",
  ingress: "the stable Ingress (route.ingress; router ingress-nginx)",
  canaryIngress: "the canary Ingress release-gate derives from it (<ingress>-canary)",
  httpRoute: "the HTTPRoute (route.httpRoute; router gateway-api)",
  window: "the analysis window as a PromQL duration (e.g. 1m), for rate() and friends",
} as const;

export type TemplateVariable = keyof typeof TEMPLATE_VARIABLES;

export const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** The placeholder names a query uses, in order of first use. */
export function placeholders(query: string): string[] {
  return [...new Set([...query.matchAll(PLACEHOLDER)].map((m) => m[1]!))];
}

export function isTemplateVariable(name: string): name is TemplateVariable {
  return Object.hasOwn(TEMPLATE_VARIABLES, name);
}
