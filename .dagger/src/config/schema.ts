/**
 * The schema of release.yaml: what a release touches and how it moves. Everything the pipeline reads from the
 * file goes through here, so a wrong field is refused with its path before anything in the cluster changes.
 */
import { z } from "zod";
import { formatDuration, parseDuration } from "./duration.ts";
import { HEADER_NAME_MESSAGE, HTTP_HEADER_NAME, isHeaderValue } from "./http-header.ts";
import { isTemplateVariable, placeholders } from "./query-placeholders.ts";

const K8S_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const name = z.string().max(63).regex(K8S_NAME, "must be a Kubernetes name (lowercase letters, digits and '-')");

/** A duration as text ("2m", "30s", "1m30s", "500ms") turned into milliseconds. */
export const duration = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined) {
    ctx.addIssue({ code: "custom", message: `"${text}" is not a duration (examples: 2m, 30s, 1m30s, 500ms)` });
    return z.NEVER;
  }
  return ms;
});

/**
 * A duration of at least `minMs`: anything shorter passes for a setting but cannot work (a 0s deadline fails every
 * release, after the canary was created), so it is refused before anything in the cluster changes.
 */
const durationAtLeast = (minMs: number, why: string) =>
  duration.refine((ms) => ms >= minMs, { message: `must be at least ${formatDuration(minMs)}: ${why}` });

/** The shortest deadline release-gate accepts: the API answers in milliseconds, pods start in seconds. */
const DEADLINE = durationAtLeast(1_000, "a shorter deadline cannot be met, and would fail the release only after production changed");
/** The shortest HTTP request timeout: a request needs a round trip. */
const REQUEST_TIMEOUT = durationAtLeast(100, "no request can be answered sooner");

const headerName = z.string().regex(HTTP_HEADER_NAME, HEADER_NAME_MESSAGE);

const route = z
  .object({
    /** ingress-nginx: the stable Ingress the canary Ingress is derived from. */
    ingress: name.optional(),
    /** gateway-api: the HTTPRoute whose backendRefs carry the weights. */
    httpRoute: name.optional(),
    /**
     * gateway-api: split only this rule of the HTTPRoute (its index among the owner's rules). Omitted (the
     * default): every rule that sends to the stable Service gets the canary backendRef and the weights.
     */
    ruleIndex: z.number().int().min(0).optional(),
  })
  .strict();

const service = z
  .object({
    name,
    /** The container whose image a release changes. */
    container: name,
    /** Image repository (registry/path). Default: the repository stable runs now. */
    image: z
      .string()
      .regex(/^[^\s:@]+(?::\d+)?(?:\/[^\s:@]+)*$/, "must be an image repository without tag or digest")
      .optional(),
    stable: z.object({ deployment: name, service: name }).strict(),
    canary: z.object({ deployment: name, service: name }).strict(),
    route: route.default({}),
    smoke: z
      .object({
        /** The public URL users reach; smoke tests and the observed split go through it. */
        url: z.url({ protocol: /^https?$/ }),
        /** Path of a smoke suite file, relative to release.yaml. Default: the smoke runner's built-in suite. */
        suite: z.string().optional(),
      })
      .strict(),
  })
  .strict();

const phase = z
  .object({
    weight: z.number().int().min(1).max(100),
    /** How long the canary is watched at this weight after its smoke tests pass. */
    observe: duration.default(0),
  })
  .strict();

/**
 * The cluster production must be: every command that reaches a cluster refuses (exit 2, nothing changed) a
 * connection to any other. An ARN alone is checked against --eks-cluster's DescribeCluster; a kubeconfig can only be
 * checked by its server URL, so an ARN pin that must also admit a kubeconfig names the server too.
 */
const clusterPin = z
  .object({
    /** An EKS cluster's ARN: matches --eks-cluster's cluster (eks:DescribeCluster); a kubeconfig needs `server` as well. */
    eksClusterArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:eks:[a-z0-9-]+:\d{12}:cluster\/[A-Za-z0-9][A-Za-z0-9_-]*$/, "must be an EKS cluster ARN")
      .optional(),
    /** The API server URL, e.g. https://ABC123.gr7.eu-west-1.eks.amazonaws.com. */
    server: z.url({ protocol: /^https?$/ }).optional(),
  })
  .strict()
  .refine((p) => p.eksClusterArn !== undefined || p.server !== undefined, "name eksClusterArn, server, or both");

/** GitHub logins: letters, digits and single hyphens, at most 39 characters. */
const githubLogin = z.string().regex(/^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/, "must be a GitHub login");

/**
 * The two-person rule: GitHub environments the production workflow passes through, each with who may approve it
 * (at most 6, GitHub's limit). release-gate approvals checks a run against it; github-environments keeps GitHub so.
 */
const approvals = z
  .object({
    environments: z
      .array(
        z
          .object({
            name: z.string().regex(/^[A-Za-z0-9._-]{1,255}$/, "must be a GitHub environment name (letters, digits, . _ -)"),
            reviewers: z.array(githubLogin).min(1).max(6),
          })
          .strict(),
      )
      .min(1),
    /**
     * The workflow file whose runs may release (deploy, undo, canary, promote with a GitHub run): approvals given in
     * any other workflow's run do not count.
     */
    workflow: z
      .string()
      .regex(/^\.github\/workflows\/[A-Za-z0-9._-]+\.ya?ml$/, "must be a workflow file path, e.g. .github/workflows/deploy-production.yml")
      .default(".github/workflows/deploy-production.yml"),
    /** The branch production is released from: a run must have been started on it, and GitHub's environments deploy only it. */
    branch: z
      .string()
      .regex(/^(?![-/.])(?!.*(?:\/\/|\.\.|\/\.|\/$|\.lock$))[A-Za-z0-9._/-]{1,255}$/, "must be a Git branch name, e.g. main")
      .default("main"),
  })
  .strict()
  .superRefine((a, ctx) => {
    const seen = new Set<string>();
    a.environments.forEach((e, i) => {
      if (seen.has(e.name.toLowerCase()))
        ctx.addIssue({ code: "custom", path: ["environments", i, "name"], message: `environment "${e.name}" is listed twice` });
      seen.add(e.name.toLowerCase());
    });
  });

/**
 * Where a credential comes from: an environment variable by NAME, or a key of a Kubernetes Secret in the
 * release's namespace. Never the value itself: release.yaml is committed.
 */
const credential = z.union(
  [
    z.object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable NAME, not its value") }).strict(),
    z.object({ secret: z.object({ name, key: z.string().regex(/^[-._a-zA-Z0-9]+$/, "must be a Secret data key") }).strict() }).strict(),
  ],
  { error: "must be { env: VARIABLE_NAME } or { secret: { name, key } } (credentials are never written in release.yaml)" },
);

/** A check's bounds: absolute, or relative to stable's value (which needs stableQuery). */
const threshold = z
  .object({
    /** The canary's value must be ≤ max. */
    max: z.number().optional(),
    /** The canary's value must be ≥ min. */
    min: z.number().optional(),
    /** The canary's value must be ≤ stable's + maxAboveStable (e.g. 0.25 s more p99 latency). */
    maxAboveStable: z.number().min(0).optional(),
    /** The canary's value must be ≥ stable's − maxBelowStable (e.g. a success rate at most 1 point lower). */
    maxBelowStable: z.number().min(0).optional(),
    /** The canary's value must be ≤ stable's × maxRatioToStable. */
    maxRatioToStable: z.number().positive().optional(),
  })
  .strict()
  .refine((t) => Object.values(t).some((v) => v !== undefined), {
    message: "needs at least one of max, min, maxAboveStable, maxBelowStable, maxRatioToStable",
  });

const analysisCheck = z
  .object({
    name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be lowercase letters, digits and '-'"),
    /** PromQL for the canary's value, with {{ placeholders }} (analysis/template.ts). One number: a scalar or a one-sample vector. */
    query: z.string().trim().min(1),
    /** PromQL for stable's value, for relative thresholds (and shown next to the canary's in the record). */
    stableQuery: z.string().trim().min(1).optional(),
    threshold,
    /** Failed evaluations tolerated per observation window; the next one fails the phase. */
    allowedFailures: z.number().int().min(0).default(1),
    /** No data (empty result or NaN, e.g. no traffic yet): a failed evaluation, or a pass with a warning. */
    noData: z.enum(["fail", "warn"]).default("fail"),
    /** Only for these services (default: every service). */
    services: z.array(name).min(1).optional(),
  })
  .strict();

/** Metric analysis: Prometheus queried during every observation window (analysis/). */
const analysis = z
  .object({
    prometheus: z
      .object({
        /** Base URL of the Prometheus HTTP API (…/api/v1/query is appended). */
        url: z
          .url({ protocol: /^https?$/ })
          .refine((u) => !new URL(u).username && !new URL(u).password, "must not carry credentials: use prometheus.auth"),
        auth: z
          .object({
            bearerToken: credential.optional(),
            basic: z
              .object({ username: z.string().min(1), password: credential })
              .strict()
              .optional(),
          })
          .strict()
          .refine((a) => !(a.bearerToken && a.basic), "set bearerToken or basic, not both")
          .optional(),
        /** Per request. */
        timeout: REQUEST_TIMEOUT.default(5_000),
        /** Retries of a request that could not connect or got a 5xx (never of a refused query). */
        retries: z.number().int().min(0).max(10).default(2),
      })
      .strict(),
    /** Time between evaluations during an observation window. */
    interval: durationAtLeast(1_000, "Prometheus scrapes every few seconds: evaluations closer together see the same data").default(30_000),
    /** The range rate() and friends look back over: {{ window }} in queries. */
    window: duration.default(60_000),
    checks: z.array(analysisCheck).min(1),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (a.window < 1000) ctx.addIssue({ code: "custom", path: ["window"], message: "must be at least 1s (PromQL ranges)" });
    const seen = new Set<string>();
    a.checks.forEach((c, i) => {
      if (seen.has(c.name)) ctx.addIssue({ code: "custom", path: ["checks", i, "name"], message: `check "${c.name}" is listed twice` });
      seen.add(c.name);
      const relative = ["maxAboveStable", "maxBelowStable", "maxRatioToStable"].filter(
        (k) => c.threshold[k as keyof typeof c.threshold] !== undefined,
      );
      if (relative.length && !c.stableQuery) {
        ctx.addIssue({
          code: "custom",
          path: ["checks", i, "stableQuery"],
          message: `threshold ${relative.join(", ")} compares with stable: needs stableQuery`,
        });
      }
      for (const field of ["query", "stableQuery"] as const) {
        for (const p of placeholders(c[field] ?? "")) {
          if (!isTemplateVariable(p))
            ctx.addIssue({ code: "custom", path: ["checks", i, field], message: `unknown placeholder {{ ${p} }}` });
        }
      }
    });
  });

export const releaseConfigSchema = z
  .object({
    namespace: name,
    cluster: clusterPin.optional(),
    router: z
      .object({
        kind: z.enum(["gateway-api", "ingress-nginx", "replicas"]),
        canaryHeader: z
          .object({ name: headerName, value: z.string().refine(isHeaderValue, "must be a non-empty value on one line") })
          .strict()
          .default({ name: "X-Canary", value: "always" }),
      })
      .strict(),
    services: z.array(service).min(1),
    phases: z
      .array(phase)
      .min(1)
      .default([
        { weight: 10, observe: 120_000 },
        { weight: 50, observe: 45_000 },
        { weight: 100, observe: 30_000 },
      ]),
    smoke: z
      .object({
        timeout: REQUEST_TIMEOUT.default(5_000),
        retries: z.number().int().min(0).max(10).default(2),
        /**
         * Smoke probes repeated during observation windows, this far apart: an app answering 500 is found within this
         * (plus one probe), so 4s keeps detection under 5 s.
         */
        probeInterval: durationAtLeast(100, "probes closer together would only load the app").default(4_000),
        /**
         * Refuse a release (at preflight, nothing changed) when no smoke-test token is given. Without a token, and
         * with this false, the checks of a service's suite that send one are skipped, each named in a warning.
         */
        requireToken: z.boolean().default(false),
      })
      .strict()
      .default({ timeout: 5_000, retries: 2, probeInterval: 4_000, requireToken: false }),
    deadlines: z
      .object({
        canaryAvailable: DEADLINE.default(45_000),
        weightVerified: DEADLINE.default(10_000),
        smoke: DEADLINE.default(15_000),
        stableRollout: DEADLINE.default(90_000),
        scaleDown: DEADLINE.default(10_000),
      })
      .strict()
      .default({ canaryAvailable: 45_000, weightVerified: 10_000, smoke: 15_000, stableRollout: 90_000, scaleDown: 10_000 }),
    health: z
      .object({
        /** Container restarts of the canary tolerated during a phase. */
        maxRestarts: z.number().int().min(0).default(0),
        /**
         * A canary pod that was Ready may be not Ready this long before the canary fails (found the moment it runs
         * out): 3s keeps detection under 5 s and outlasts a readiness probe's single failure.
         */
        notReadyGrace: duration.default(3_000),
      })
      .strict()
      .default({ maxRestarts: 0, notReadyGrace: 3_000 }),
    observedSplit: z
      .object({
        enabled: z.boolean().default(true),
        /** The response header where the app reports its version (the image tag). */
        versionHeader: headerName.default("X-App-Version"),
        samples: z.number().int().min(10).max(10_000).default(200),
        /**
         * How often a split the routers really apply may be called a mismatch, per check: the bound of an exact
         * binomial test. 1e-6 is once in a million checks.
         */
        falseAlarmRate: z.number().gt(0).max(0.05).default(1e-6),
        /**
         * Systematic gap between set and observed canary share allowed on top of sampling noise, in percentage
         * points; never more than half the way from the weight to 0 or 100 %.
         */
        tolerancePoints: z.number().min(0).max(50).default(2),
        /** Sampling stops here and judges what it has (fewer answers: at worst inconclusive); counted by plan. */
        deadline: DEADLINE.default(10_000),
      })
      .strict()
      .default({ enabled: true, versionHeader: "X-App-Version", samples: 200, falseAlarmRate: 1e-6, tolerancePoints: 2, deadline: 10_000 }),
    lock: z
      .object({
        ttl: durationAtLeast(3_000, "the running release renews the lock every ttl/6, and others must be able to see it do so").default(
          900_000,
        ),
      })
      .strict()
      .default({ ttl: 900_000 }),
    /** Worst case a deploy may take, human approval excluded; plan and deploy refuse a config over it. */
    budget: durationAtLeast(60_000, "no release with a canary phase and a rollback fits in less").default(600_000),
    /** Release records kept in the history ConfigMap. */
    historyLimit: z.number().int().min(1).max(100).default(20),
    /**
     * Tags that are pushed again (moving tags, e.g. "main", "*-SNAPSHOT"; `*` matches any run of characters): refused
     * by deploy, canary, promote and plan unless --allow-mutable-tag. `latest` always is.
     */
    mutableTags: z
      .array(z.string().regex(/^[A-Za-z0-9_*][A-Za-z0-9._*-]{0,127}$/, "must be an OCI tag, where * matches any run of characters"))
      .default([]),
    approvals: approvals.optional(),
    /** Metric analysis during observation windows (optional; see docs/analysis.md). */
    analysis: analysis.optional(),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    if (cfg.smoke.timeout > cfg.deadlines.smoke) {
      ctx.addIssue({
        code: "custom",
        path: ["smoke", "timeout"],
        message:
          `a smoke check's timeout (${formatDuration(cfg.smoke.timeout)}) ` +
          `cannot be longer than deadlines.smoke (${formatDuration(cfg.deadlines.smoke)}), the whole suite's`,
      });
    }
    const weights = cfg.phases.map((p) => p.weight);
    weights.forEach((w, i) => {
      if (i > 0 && w <= weights[i - 1]) {
        ctx.addIssue({ code: "custom", path: ["phases", i, "weight"], message: `weights must rise: ${w} after ${weights[i - 1]}` });
      }
    });
    if (weights.at(-1) !== 100) {
      ctx.addIssue({
        code: "custom",
        path: ["phases", cfg.phases.length - 1, "weight"],
        message: `the last phase must reach 100 (it is ${weights.at(-1)})`,
      });
    }
    const seen = new Set<string>();
    cfg.services.forEach((s, i) => {
      if (seen.has(s.name)) ctx.addIssue({ code: "custom", path: ["services", i, "name"], message: `service "${s.name}" is listed twice` });
      seen.add(s.name);
      if (s.stable.deployment === s.canary.deployment) {
        ctx.addIssue({
          code: "custom",
          path: ["services", i, "canary", "deployment"],
          message: "the canary Deployment must differ from the stable one",
        });
      }
      if (cfg.router.kind !== "replicas" && s.stable.service === s.canary.service) {
        ctx.addIssue({
          code: "custom",
          path: ["services", i, "canary", "service"],
          message: `the canary Service must differ from the stable one for router ${cfg.router.kind} (it sends the canary's share there)`,
        });
      }
      if (cfg.router.kind === "ingress-nginx" && !s.route.ingress) {
        ctx.addIssue({
          code: "custom",
          path: ["services", i, "route", "ingress"],
          message: "router ingress-nginx needs the stable Ingress's name",
        });
      }
      if (cfg.router.kind === "gateway-api" && !s.route.httpRoute) {
        ctx.addIssue({
          code: "custom",
          path: ["services", i, "route", "httpRoute"],
          message: "router gateway-api needs the HTTPRoute's name",
        });
      }
    });
    cfg.analysis?.checks.forEach((c, i) => {
      for (const [j, svc] of (c.services ?? []).entries()) {
        if (!seen.has(svc))
          ctx.addIssue({ code: "custom", path: ["analysis", "checks", i, "services", j], message: `no service "${svc}" in services` });
      }
      // A route placeholder needs that route on every service the check runs for.
      const uses = new Set([...placeholders(c.query), ...placeholders(c.stableQuery ?? "")]);
      const route = { ingress: "ingress", canaryIngress: "ingress", httpRoute: "httpRoute" } as const;
      for (const [p, field] of Object.entries(route)) {
        if (!uses.has(p)) continue;
        const missing = cfg.services.filter((s) => (!c.services || c.services.includes(s.name)) && !s.route[field]).map((s) => s.name);
        if (missing.length)
          ctx.addIssue({
            code: "custom",
            path: ["analysis", "checks", i, "query"],
            message: `uses {{ ${p} }}, but ${missing.join(", ")} has no route.${field}`,
          });
      }
    });
  });

export type ReleaseConfig = z.output<typeof releaseConfigSchema>;
export type ServiceConfig = ReleaseConfig["services"][number];
export type PhaseConfig = ReleaseConfig["phases"][number];
export type ApprovalsConfig = NonNullable<ReleaseConfig["approvals"]>;
