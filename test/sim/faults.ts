/**
 * Fault injection for the simulated API server, and the counters of requests it served.
 * A rule matches a verb (or `*`) and a path regex and/or a resource name (plural, e.g. "httproutes"), and
 * does one thing: answer an error status the next N times (429 carries Retry-After; with `afterApply` the
 * request is served, a write committed, before the error is answered), add latency, end a watch after N
 * events, or reset the connection. Scenario files declare rules with `faultRuleSchema`.
 */
import { z } from "zod";

export const VERBS = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"] as const;
export type Verb = (typeof VERBS)[number];

export const faultSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("status"),
    code: z.union([z.literal(429), z.literal(500), z.literal(503)]),
    retryAfterSeconds: z.number().int().nonnegative().default(1),
    /** Serve the request first (a write is committed), then answer the error instead: an answer lost after the write. */
    afterApply: z.boolean().default(false),
  }),
  z.object({ type: z.literal("latency"), ms: z.number().int().nonnegative() }),
  z.object({ type: z.literal("dropWatch"), afterEvents: z.number().int().nonnegative() }),
  z.object({ type: z.literal("reset") }),
]);

export const faultRuleSchema = z
  .object({
    verb: z.enum([...VERBS, "*"]).default("*"),
    /** A regular expression matched against the request path (without the query string). */
    path: z.string().optional(),
    /** The resource's plural name ("deployments"), or "deployments/scale" for a subresource. */
    resource: z.string().optional(),
    /** How many matching requests the fault applies to; unlimited when omitted. */
    times: z.number().int().positive().optional(),
    fault: faultSchema,
  })
  .strict();

export type FaultRuleInput = z.input<typeof faultRuleSchema>;
export type FaultRule = z.output<typeof faultRuleSchema>;
export type FaultAction = z.output<typeof faultSchema>;

/** What the server is about to serve, as a fault rule sees it. */
export interface RequestInfo {
  verb: Verb;
  path: string;
  /** Plural resource name, with "/subresource" when there is one; undefined for discovery and other paths. */
  resource?: string;
}

interface ActiveRule {
  rule: FaultRule;
  pathRe?: RegExp;
  remaining: number;
}

export interface RequestCounts {
  total: number;
  byVerb: Partial<Record<Verb, number>>;
  byResource: Record<string, number>;
}

export class Faults {
  private rules: ActiveRule[] = [];
  private counts: RequestCounts = { total: 0, byVerb: {}, byResource: {} };

  /** Add a rule (validated with faultRuleSchema); returns the parsed rule. */
  add(input: FaultRuleInput): FaultRule {
    const rule = faultRuleSchema.parse(input);
    this.rules.push({ rule, pathRe: rule.path ? new RegExp(rule.path) : undefined, remaining: rule.times ?? Infinity });
    return rule;
  }

  clear(): void {
    this.rules = [];
  }

  /** Rules still active (with how many times each still applies). */
  active(): Array<FaultRule & { remaining: number }> {
    return this.rules.map((r) => ({ ...r.rule, remaining: r.remaining }));
  }

  /** A snapshot of the requests served since start (or the last resetCounters). */
  requests(): RequestCounts {
    return structuredClone(this.counts);
  }

  resetCounters(): void {
    this.counts = { total: 0, byVerb: {}, byResource: {} };
  }

  /** Called by the server for every request: counts it and returns the faults to inject (consuming one use of each). */
  onRequest(req: RequestInfo): FaultAction[] {
    this.counts.total++;
    this.counts.byVerb[req.verb] = (this.counts.byVerb[req.verb] ?? 0) + 1;
    if (req.resource) this.counts.byResource[req.resource] = (this.counts.byResource[req.resource] ?? 0) + 1;
    const actions: FaultAction[] = [];
    for (const r of this.rules) {
      if (r.remaining <= 0) continue;
      if (r.rule.verb !== "*" && r.rule.verb !== req.verb) continue;
      if (r.pathRe && !r.pathRe.test(req.path)) continue;
      if (r.rule.resource !== undefined && r.rule.resource !== req.resource && r.rule.resource !== req.resource?.split("/")[0]) continue;
      r.remaining--;
      actions.push(r.rule.fault);
    }
    this.rules = this.rules.filter((r) => r.remaining > 0);
    return actions;
  }
}
