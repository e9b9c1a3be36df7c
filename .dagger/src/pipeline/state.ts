/**
 * The in-flight release, kept in the cluster (ConfigMap release-gate-state) and rewritten before every step,
 * so a run that dies (SIGKILL, lost runner) leaves enough for `status` to explain it and for `rollback` or the
 * next `deploy --repair` to put production back: the images and pod templates from before the release, the
 * step reached, and whether stable has been touched.
 */
import type * as k8s from "@kubernetes/client-node";
import { z } from "zod";
import type { Kube } from "../kube/client.ts";
import { isConflict, isNotFound } from "../kube/api-errors.ts";
import type { ReleaseRecord } from "../audit/record.ts";

export const STATE_CONFIGMAP = "release-gate-state";
const KEY = "inflight.json";

export interface ServiceBefore {
  name: string;
  stableDeployment: string;
  canaryDeployment: string;
  container: string;
  previousImage: string;
  newImage: string;
  /** Stable's pod template before the release, restored if promotion started and the release fails. */
  previousTemplate: k8s.V1PodTemplateSpec;
  stableReplicas: number;
}

export interface InFlight {
  id: string;
  tag: string;
  holder: string;
  startedAt: string;
  /** The step being run now ("canary 10%", "promote", "rollback"). */
  step: string;
  /** Highest weight whose checks all passed (promote requires 100). */
  passedWeight: number;
  /** Stable's template may have been changed: a rollback must restore it. */
  promotionStarted: boolean;
  services: ServiceBefore[];
  /** The record so far, so a repair can finish it. */
  record: ReleaseRecord;
  updatedAt: string;
}

/**
 * What the state must hold for status, rollback and resume to act on it. Objects are loose: fields this
 * version does not know (a newer release-gate's) are kept, never stripped, and the text is returned as read.
 */
const serviceBeforeSchema = z.looseObject({
  name: z.string(),
  stableDeployment: z.string().min(1),
  canaryDeployment: z.string().min(1),
  container: z.string().min(1),
  previousImage: z.string().min(1),
  newImage: z.string().min(1),
  previousTemplate: z.record(z.string(), z.unknown()),
  stableReplicas: z.number().int().min(0),
});

const recordSchema = z.looseObject({
  id: z.string(),
  command: z.enum(["deploy", "canary", "promote", "rollback"]),
  tag: z.string(),
  triggeredBy: z.string(),
  startedAt: z.string(),
  services: z.array(z.looseObject({ name: z.string(), previousImage: z.string(), newImage: z.string() })),
  steps: z.array(z.looseObject({ name: z.string() })),
});

export const inFlightSchema = z.looseObject({
  id: z.string(),
  tag: z.string(),
  holder: z.string(),
  startedAt: z.string(),
  step: z.string(),
  passedWeight: z.number().min(0).max(100),
  promotionStarted: z.boolean(),
  services: z.array(serviceBeforeSchema).min(1),
  record: recordSchema,
  updatedAt: z.string(),
});

/** The state ConfigMap as found: absent, a valid in-flight release, or something nobody can act on. */
export type StoredState =
  | { kind: "none" }
  | { kind: "ok"; state: InFlight }
  /** Truncated, hand-edited or written by something else: `reason` says what is wrong with it. */
  | { kind: "corrupt"; reason: string };

/** Why `text` is not a valid in-flight state, or the state itself. */
export function parseInFlight(text: string | undefined): { ok: true; state: InFlight } | { ok: false; reason: string } {
  if (text === undefined || text.trim() === "") return { ok: false, reason: `it has no ${KEY}` };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `${KEY} is not JSON (${(err as Error).message}; ${text.length} characters)` };
  }
  const checked = inFlightSchema.safeParse(json);
  if (!checked.success) {
    const issues = checked.error.issues.map((i) => `${i.path.join(".") || "(top level)"}: ${i.message}`);
    return {
      ok: false,
      reason: `${KEY} is not a release state (${issues.slice(0, 3).join("; ")}${issues.length > 3 ? `; ${issues.length - 3} more` : ""})`,
    };
  }
  return { ok: true, state: json as InFlight };
}

/** Read the state ConfigMap and say what it holds; a corrupt one is reported, never thrown as a SyntaxError. */
export async function inspectInFlight(kube: Kube, namespace: string): Promise<StoredState> {
  let cm: k8s.V1ConfigMap;
  try {
    cm = await kube.core.readNamespacedConfigMap({ name: STATE_CONFIGMAP, namespace });
  } catch (err) {
    if (isNotFound(err)) return { kind: "none" };
    throw err;
  }
  const parsed = parseInFlight(cm.data?.[KEY]);
  return parsed.ok ? { kind: "ok", state: parsed.state } : { kind: "corrupt", reason: parsed.reason };
}

/**
 * The in-flight release, or undefined when none is recorded. An unreadable state also reads as undefined:
 * nothing in it can be acted on, so `rollback` returns production to rest from the live objects (weight 0,
 * canary to 0) and says it could not restore stable's previous template (rollback.ts); `status` uses
 * inspectInFlight to report it as unreadable.
 */
export async function readInFlight(kube: Kube, namespace: string): Promise<InFlight | undefined> {
  const stored = await inspectInFlight(kube, namespace);
  return stored.kind === "ok" ? stored.state : undefined;
}

/** What an operator should know about an unreadable state, and what to do about it. */
export function corruptStateAdvice(reason: string): string {
  return (
    `the in-flight state (ConfigMap ${STATE_CONFIGMAP}) is unreadable: ${reason}. A release may have been interrupted. ` +
    "`release-gate rollback` returns production to rest from the live objects (canary weight 0, verified; canary scaled to 0) and replaces it, " +
    "but without the record it cannot restore stable's previous pod template: check the image stable runs, and undo it by hand if it is not the one you expect " +
    "(`kubectl rollout history` / `kubectl rollout undo` on the stable Deployment)"
  );
}

/** Another run's in-flight state is stored: this run must neither overwrite nor delete it. */
export class StateOwnedError extends Error {
  /** The run whose state it is. */
  readonly holder: string;
  constructor(what: string, stored: InFlight) {
    super(
      `${what} refused: ConfigMap ${STATE_CONFIGMAP} now holds another run's release (${stored.tag}, record ${stored.id}, run ${stored.holder}); it was left as it is`,
    );
    this.name = "StateOwnedError";
    this.holder = stored.holder;
  }
}

/**
 * Write the whole state, guarded: the stored state must be this release's (same id), or `replacing`'s (the
 * interrupted release a resume continues), or absent or unreadable. The replace carries the resourceVersion read,
 * so a concurrent writer makes it conflict (re-read, checked again) instead of being overwritten; a create or
 * replace that was applied but answered with an error and replayed finds our own text stored and is done.
 */
export async function writeInFlight(kube: Kube, namespace: string, state: InFlight, opts: { replacing?: string } = {}): Promise<void> {
  state.updatedAt = new Date().toISOString();
  const text = JSON.stringify(state);
  const metadata = { name: STATE_CONFIGMAP, namespace, labels: { "app.kubernetes.io/managed-by": "release-gate" } };
  for (let attempt = 1; ; attempt++) {
    const cm = await readStateConfigMap(kube, namespace);
    if (cm?.data?.[KEY] === text) return;
    const stored = cm ? parseInFlight(cm.data?.[KEY]) : undefined;
    if (stored?.ok && stored.state.id !== state.id && stored.state.id !== opts.replacing)
      throw new StateOwnedError("writing the in-flight state", stored.state);
    try {
      if (cm)
        await kube.core.replaceNamespacedConfigMap({
          name: STATE_CONFIGMAP,
          namespace,
          body: { metadata: { ...metadata, resourceVersion: cm.metadata?.resourceVersion }, data: { [KEY]: text } },
        });
      else await kube.core.createNamespacedConfigMap({ namespace, body: { metadata, data: { [KEY]: text } } });
      return;
    } catch (err) {
      if (!(isConflict(err) || (cm && isNotFound(err))) || attempt >= 3) throw err;
    }
  }
}

/**
 * Delete the state if it is this release's (`id`; with no id, whatever is stored: an unreadable state being
 * repaired). Another run's state is left alone (StateOwnedError); the delete carries the resourceVersion read.
 */
export async function clearInFlight(kube: Kube, namespace: string, id?: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const cm = await readStateConfigMap(kube, namespace);
    if (!cm) return;
    const stored = parseInFlight(cm.data?.[KEY]);
    if (id !== undefined && stored.ok && stored.state.id !== id) throw new StateOwnedError("clearing the in-flight state", stored.state);
    try {
      await kube.core.deleteNamespacedConfigMap({
        name: STATE_CONFIGMAP,
        namespace,
        body: { preconditions: { resourceVersion: cm.metadata?.resourceVersion } },
      });
      return;
    } catch (err) {
      if (isNotFound(err)) return;
      if (!isConflict(err) || attempt >= 3) throw err;
    }
  }
}

async function readStateConfigMap(kube: Kube, namespace: string): Promise<k8s.V1ConfigMap | undefined> {
  try {
    return await kube.core.readNamespacedConfigMap({ name: STATE_CONFIGMAP, namespace });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}
