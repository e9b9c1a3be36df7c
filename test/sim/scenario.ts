/**
 * The scenario: what the simulated cluster does, as data (YAML or JSON, validated with zod). It sets the time
 * scale, how pods of each image behave (ready, crash-looping, failing to pull, never ready, ready then
 * failing), how the demo app of each version answers HTTP, the traffic edge's settings, API fault rules and
 * objects to create at start. See test/sim/README.md for the format with an example.
 */
import { readFileSync } from "node:fs";
import picomatch from "picomatch";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { imageTag } from "./controllers/pod-status.ts";
import { faultRuleSchema } from "./faults.ts";

const seconds = z.number().nonnegative();

export const podBehaviourSchema = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("ready"),
    /** From scheduling to the container running (image pull, container creation). */
    startSeconds: seconds.default(1),
    /** From the container starting to its readiness probe passing. */
    readyAfterSeconds: seconds.default(1),
  }),
  z.strictObject({
    kind: z.literal("crashLoop"),
    startSeconds: seconds.default(1),
    /** How long each run lasts before the process exits. */
    crashAfterSeconds: seconds.default(1),
    exitCode: z.number().int().min(1).max(255).default(1),
  }),
  z.strictObject({
    kind: z.literal("imagePullBackOff"),
    startSeconds: seconds.default(1),
  }),
  z.strictObject({
    kind: z.literal("neverReady"),
    startSeconds: seconds.default(1),
  }),
  z.strictObject({
    kind: z.literal("readyThenFail"),
    startSeconds: seconds.default(1),
    readyAfterSeconds: seconds.default(1),
    /** How long after becoming Ready the container fails. */
    failAfterSeconds: seconds.default(10),
    /** notReady: readiness starts failing (running, not Ready); crash: the process exits and crash-loops. */
    failMode: z.enum(["notReady", "crash"]).default("notReady"),
    exitCode: z.number().int().min(1).max(255).default(1),
  }),
]);
export type PodBehaviour = z.output<typeof podBehaviourSchema>;

export const appFailureSchema = z
  .strictObject({
    /** Answer with this status instead of the normal one. */
    status: z.number().int().min(100).max(599).optional(),
    /** Answer with this body instead of the normal one. */
    body: z.string().optional(),
    /** Delay every answer by this many REAL milliseconds (client timeouts are real). */
    latencyMs: z.number().nonnegative().optional(),
    /** Only for these paths (globs, e.g. "/api/**"); all paths when absent. */
    paths: z.array(z.string().min(1)).optional(),
    /** The fraction of matching requests affected (each request drawn independently). */
    fraction: z.number().min(0).max(1).default(1),
    /** Only after the pod's container has been running this many scenario seconds. */
    afterSeconds: seconds.default(0),
  })
  .refine((f) => f.status !== undefined || f.body !== undefined || f.latencyMs !== undefined, {
    message: "an app failure needs at least one of status, body or latencyMs",
  });
export type AppFailure = z.output<typeof appFailureSchema>;

export const appBehaviourSchema = z.strictObject({
  /** The version the app reports in X-App-Version; the image tag when absent. */
  version: z.string().min(1).optional(),
  failures: z.array(appFailureSchema).default([]),
});
export type AppBehaviour = z.output<typeof appBehaviourSchema>;

export const imageRuleSchema = z
  .strictObject({
    /** Glob on the full image reference as written in the pod spec ("ghcr.io/acme/api:*-bad"). */
    image: z.string().min(1).optional(),
    /** Glob on the tag alone ("2.*", "bad-*"). */
    tag: z.string().min(1).optional(),
    pod: podBehaviourSchema.optional(),
    app: appBehaviourSchema.optional(),
  })
  .refine((r) => (r.image === undefined) !== (r.tag === undefined), { message: "set exactly one of image or tag" });
export type ImageRule = z.output<typeof imageRuleSchema>;

const manifestSchema = z.looseObject({
  apiVersion: z.string().min(1),
  kind: z.string().min(1),
  metadata: z.looseObject({ name: z.string().min(1), namespace: z.string().optional() }),
});

export const scenarioSchema = z.strictObject({
  timeScale: z.strictObject({ msPerSecond: z.number().positive().default(10) }).prefault({}),
  defaults: z
    .strictObject({
      pod: podBehaviourSchema.prefault({ kind: "ready" }),
      app: appBehaviourSchema.prefault({}),
    })
    .prefault({}),
  /** First matching rule wins; images no rule matches use `defaults`. */
  images: z.array(imageRuleSchema).default([]),
  edge: z
    .strictObject({
      /** Host assumed for requests whose Host header is an IP or localhost. */
      defaultHost: z.string().min(1).optional(),
      /** Which controller the cluster has when both an Ingress and an HTTPRoute match a request. */
      controller: z.enum(["auto", "ingress-nginx", "gateway-api"]).default("auto"),
      /** Simulated seconds before a change to an Ingress, HTTPRoute or Gateway takes effect at the edge. */
      propagationSeconds: z.number().nonnegative().default(0),
    })
    .prefault({}),
  /** API server fault rules (test/sim/faults.ts), active from the start. */
  faults: z.array(faultRuleSchema).default([]),
  /** Objects created when the simulator starts (namespaces, Deployments, Services, routes...). */
  objects: z.array(manifestSchema).default([]),
});
export type Scenario = z.output<typeof scenarioSchema>;
export type ScenarioInput = z.input<typeof scenarioSchema>;

/** Validate a scenario object; the error names every offending field by path. */
export function parseScenario(input: unknown, source = "scenario"): Scenario {
  const r = scenarioSchema.safeParse(input ?? {});
  if (!r.success) throw new Error(`invalid ${source}:\n${z.prettifyError(r.error)}`);
  return r.data;
}

/** Read a scenario file (YAML or JSON). */
export function loadScenarioFile(path: string): Scenario {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new Error(`cannot read scenario file ${path}: ${(err as Error).message}`, { cause: err });
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (err) {
    throw new Error(`scenario file ${path} is not valid YAML/JSON: ${(err as Error).message}`, { cause: err });
  }
  return parseScenario(data, `scenario file ${path}`);
}

export function resolveScenario(s: Scenario | ScenarioInput | string | undefined): Scenario {
  return typeof s === "string" ? loadScenarioFile(s) : parseScenario(s ?? {});
}

export interface ImageBehaviour {
  pod: PodBehaviour;
  app: AppBehaviour;
  /** The version the demo app reports. */
  version: string;
}

/** How pods and the app of one image behave under a scenario. */
export function behaviourForImage(s: Scenario, image: string): ImageBehaviour {
  const tag = imageTag(image);
  const rule = s.images.find((r) => (r.image !== undefined ? globMatch(r.image, image) : globMatch(r.tag!, tag)));
  const app = rule?.app ?? s.defaults.app;
  return { pod: rule?.pod ?? s.defaults.pod, app, version: app.version ?? tag };
}

const matchers = new Map<string, (s: string) => boolean>();
/** Shell-style globs where `*` also crosses `/` (image references contain slashes). */
export function globMatch(pattern: string, value: string): boolean {
  let m = matchers.get(pattern);
  if (!m) matchers.set(pattern, (m = picomatch(pattern, { bash: true, dot: true })));
  return m(value);
}
