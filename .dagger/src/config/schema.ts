/**
 * The schema of release.yaml: what a release touches and how it moves. Everything the pipeline reads from the
 * file goes through here, so a wrong field is refused with its path before anything in the cluster changes.
 */
import { z } from "zod";
import { parseDuration } from "./duration.ts";

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

const headerName = z.string().regex(/^[A-Za-z0-9-]+$/, "must be an HTTP header name");

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
 * connection to any other. Exactly one of the two.
 */
const clusterPin = z
  .object({
    /** An EKS cluster's ARN: matches --eks-cluster's cluster, or a kubeconfig cluster/context named by it. */
    eksClusterArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:eks:[a-z0-9-]+:\d{12}:cluster\/[A-Za-z0-9][A-Za-z0-9_-]*$/, "must be an EKS cluster ARN")
      .optional(),
    /** The API server URL, e.g. https://ABC123.gr7.eu-west-1.eks.amazonaws.com. */
    server: z.url({ protocol: /^https?$/ }).optional(),
  })
  .strict()
  .refine((p) => (p.eksClusterArn === undefined) !== (p.server === undefined), "name exactly one of eksClusterArn and server");

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

export const releaseConfigSchema = z
  .object({
    namespace: name,
    cluster: clusterPin.optional(),
    router: z
      .object({
        kind: z.enum(["gateway-api", "ingress-nginx", "replicas"]),
        canaryHeader: z
          .object({ name: headerName, value: z.string().min(1) })
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
        timeout: duration.default(5_000),
        retries: z.number().int().min(0).max(10).default(2),
        /** Smoke probes repeated during observation windows, this far apart. */
        probeInterval: duration.default(15_000),
      })
      .strict()
      .default({ timeout: 5_000, retries: 2, probeInterval: 15_000 }),
    deadlines: z
      .object({
        canaryAvailable: duration.default(45_000),
        weightVerified: duration.default(10_000),
        smoke: duration.default(15_000),
        stableRollout: duration.default(90_000),
        scaleDown: duration.default(10_000),
      })
      .strict()
      .default({ canaryAvailable: 45_000, weightVerified: 10_000, smoke: 15_000, stableRollout: 90_000, scaleDown: 10_000 }),
    health: z
      .object({
        /** Container restarts of the canary tolerated during a phase. */
        maxRestarts: z.number().int().min(0).default(0),
        /** A canary pod that was Ready may be not Ready this long before the canary fails. */
        notReadyGrace: duration.default(10_000),
      })
      .strict()
      .default({ maxRestarts: 0, notReadyGrace: 10_000 }),
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
      })
      .strict()
      .default({ enabled: true, versionHeader: "X-App-Version", samples: 200, falseAlarmRate: 1e-6, tolerancePoints: 2 }),
    lock: z
      .object({ ttl: duration.default(900_000) })
      .strict()
      .default({ ttl: 900_000 }),
    /** Worst case a deploy may take, human approval excluded; plan and deploy refuse a config over it. */
    budget: duration.default(600_000),
    /** Release records kept in the history ConfigMap. */
    historyLimit: z.number().int().min(1).max(100).default(20),
    approvals: approvals.optional(),
  })
  .strict()
  .superRefine((cfg, ctx) => {
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
  });

export type ReleaseConfig = z.output<typeof releaseConfigSchema>;
export type ServiceConfig = ReleaseConfig["services"][number];
export type PhaseConfig = ReleaseConfig["phases"][number];
export type ApprovalsConfig = NonNullable<ReleaseConfig["approvals"]>;
