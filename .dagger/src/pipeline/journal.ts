/**
 * The in-flight state of a release, kept in the cluster (ConfigMap release-gate-state), and its one writer.
 *
 * Written before production changes, so a run that dies (SIGKILL, lost runner) leaves enough for `status` to
 * explain it and for `rollback`, `deploy --repair` or `deploy --resume` to act on it: the step reached (as
 * structure, with a schemaVersion), the highest weight that passed, whether stable is being changed, and every
 * object the run changes (Deployments, route objects) with what it needs to put them back: stable's revision, never
 * its pod template (a template can hold secrets, and a state anyone with `update` on the ConfigMap can forge must
 * not be able to say "apply this template"). It also carries the run's record, so whoever finishes a dead run's
 * release can store it.
 *
 * Writes carry the resourceVersion of the last write (no read before each one); a conflict re-reads and checks
 * the state is still this run's before trying again.
 */
import type * as k8s from "@kubernetes/client-node";
import { z } from "zod";
import type { ReleaseRecord } from "../audit/record.ts";
import type { ReleaseConfig } from "../config/schema.ts";
import { ifExists, isConflict, isNotFound } from "../kube/api-errors.ts";
import type { Kube } from "../kube/client.ts";
import { MANAGED_BY, MANAGED_BY_LABEL } from "../kube/labels.ts";
import type { CanaryHeader, ObjectRef, RouterKind } from "../traffic/router.ts";

export const STATE_CONFIGMAP = "release-gate-state";
const KEY = "inflight.json";
export const SCHEMA_VERSION = 2;

/** Where a release stands: what the run was doing when it last wrote. */
export type JournalStep =
  /** The run holds the lock and has changed nothing yet (a state is only written once it does). */
  | { kind: "start" }
  /** A canary phase at `weight` (redone whole on resume); `held`: the operator's `canary` command left it there. */
  | { kind: "canary"; weight: number; held?: true }
  /** Promotion: stable changes once promotionStarted is true. */
  | { kind: "promote" }
  /** Rolling back. */
  | { kind: "rollback" }
  /** Finished; the record is stored next, then the state cleared. A state left at "done" only needs clearing. */
  | { kind: "done"; outcome: "succeeded" | "rolled-back" | "no-change" };

/** One service of the release: the objects it changes and what it needs to put them back. */
export interface ServiceInFlight {
  name: string;
  container: string;
  stable: {
    deployment: string;
    service: string;
    /** The image stable ran before the release. */
    image: string;
    /** The version the app reports for it (its tag, even when pinned by digest). */
    version: string;
    /** Stable's revision before the release: a rollback restores the template of its own ReplicaSet of that revision. */
    revision: string;
    replicas: number;
  };
  canary: {
    deployment: string;
    service: string;
    /** The image released, as given (by tag). */
    image: string;
    /** The digest the canary's pods run, resolved once it was first Available: what stable is promoted to. */
    digest?: string;
  };
  route: { ingress?: string; httpRoute?: string; ruleIndex?: number };
}

export interface InFlightState {
  schemaVersion: typeof SCHEMA_VERSION;
  id: string;
  tag: string;
  /** The run (lock identity) that wrote it. */
  holder: string;
  startedAt: string;
  updatedAt: string;
  step: JournalStep;
  /** Highest weight whose checks all passed (promote requires 100). */
  passedWeight: number;
  /** Stable's template may have been changed: a rollback must restore it. */
  promotionStarted: boolean;
  /** The router as release.yaml named it when the run started. */
  router: { kind: RouterKind; canaryHeader: CanaryHeader };
  /** Every object the run changes: the route objects and the Deployments (what a repair must put back). */
  objects: ObjectRef[];
  services: ServiceInFlight[];
  /** The run's record so far (steps, smoke results), so a repair or a finder can finish and store it. */
  record: ReleaseRecord;
  /** The observation window under way, for `status --watch` (absent outside a window; stale once `step` moved on). */
  observation?: ObservationInFlight;
}

/** An observation window as `status` shows it: when it ends, the probes passed so far, the last probe's verdict. */
export interface ObservationInFlight {
  /** The canary weight observed (the window belongs to that canary step). */
  weight: number;
  startedAt: string;
  endsAt: string;
  probesPassed: number;
  lastProbe?: { at: string; ok: boolean; failed?: string[] };
}

/** The state as found: absent, a release in flight, or something nobody can act on (`reason` says why). */
export type StoredState = { kind: "none" } | { kind: "ok"; state: InFlightState } | { kind: "corrupt"; reason: string };

const name = z.string().min(1);
const stepSchema = z.discriminatedUnion("kind", [
  z.looseObject({ kind: z.literal("start") }),
  z.looseObject({ kind: z.literal("canary"), weight: z.number().int().min(1).max(100), held: z.literal(true).optional() }),
  z.looseObject({ kind: z.literal("promote") }),
  z.looseObject({ kind: z.literal("rollback") }),
  z.looseObject({ kind: z.literal("done"), outcome: z.enum(["succeeded", "rolled-back", "no-change"]) }),
]);
const serviceSchema = z.looseObject({
  name,
  container: name,
  stable: z.looseObject({
    deployment: name,
    service: name,
    image: name,
    version: z.string(),
    revision: z.string(),
    replicas: z.number().int().min(0),
  }),
  canary: z.looseObject({ deployment: name, service: name, image: name, digest: z.string().optional() }),
  route: z.looseObject({ ingress: z.string().optional(), httpRoute: z.string().optional(), ruleIndex: z.number().optional() }),
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
/** What the state must hold for status, rollback and resume to act on it. Unknown fields (a newer version's) are kept. */
export const inFlightSchema = z.looseObject({
  schemaVersion: z.literal(SCHEMA_VERSION),
  id: z.string(),
  tag: z.string(),
  holder: z.string(),
  startedAt: z.string(),
  updatedAt: z.string(),
  step: stepSchema,
  passedWeight: z.number().min(0).max(100),
  promotionStarted: z.boolean(),
  router: z.looseObject({
    kind: z.enum(["gateway-api", "ingress-nginx", "replicas"]),
    canaryHeader: z.looseObject({ name: z.string(), value: z.string() }),
  }),
  objects: z.array(z.looseObject({ kind: z.string(), namespace: z.string(), name: z.string() })),
  services: z.array(serviceSchema).min(1),
  record: recordSchema,
});

/** Why `text` is not a valid in-flight state, or the state itself. */
export function parseInFlight(text: string | undefined): { ok: true; state: InFlightState } | { ok: false; reason: string } {
  if (text === undefined || text.trim() === "") return { ok: false, reason: `it has no ${KEY}` };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `${KEY} is not JSON (${(err as Error).message}; ${text.length} characters)` };
  }
  const version = (json as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (json && typeof json === "object" && version !== SCHEMA_VERSION) {
    return {
      ok: false,
      reason:
        `${KEY} has schemaVersion ${JSON.stringify(version ?? null)}, this release-gate reads ${SCHEMA_VERSION} (written by ` +
        `${version === undefined ? "an earlier" : "another"} version)`,
    };
  }
  const checked = inFlightSchema.safeParse(json);
  if (!checked.success) {
    const issues = checked.error.issues.map((i) => `${i.path.join(".") || "(top level)"}: ${i.message}`);
    return {
      ok: false,
      reason: `${KEY} is not a release state (${issues.slice(0, 3).join("; ")}${issues.length > 3 ? `; ${issues.length - 3} more` : ""})`,
    };
  }
  return { ok: true, state: json as InFlightState };
}

/**
 * Why a stored state cannot be trusted with release.yaml as it is, or undefined: every service it shares with
 * release.yaml must name the same Deployments and container. Anyone who can update the ConfigMap can write it; what a
 * rollback does from it must stay within what release.yaml allows, or what release-gate itself changed. A service
 * release.yaml no longer names is drift (recorded.ts: driftFrom), checked against the cluster (droppedUntrustedBecause).
 */
export function untrustedBecause(state: InFlightState, config: ReleaseConfig): string | undefined {
  const want = new Map(config.services.map((s) => [s.name, `${s.stable.deployment}/${s.canary.deployment}/${s.container}`]));
  const differs = state.services
    .filter((s) => want.has(s.name) && want.get(s.name) !== `${s.stable.deployment}/${s.canary.deployment}/${s.container}`)
    .map((s) => `${s.name} names Deployments ${s.stable.deployment}, ${s.canary.deployment} (container ${s.container})`);
  if (new Set(state.services.map((s) => s.name)).size !== state.services.length) differs.push("a service is listed twice");
  return differs.length ? `it does not match release.yaml: ${differs.join("; ")}` : undefined;
}

/** A journal step for people: "canary 50%", "canary 10% (held for the operator)", "promote", "rollback". */
export function stepLabelOf(step: JournalStep): string {
  switch (step.kind) {
    case "canary":
      return `canary ${step.weight}%${step.held ? " (held for the operator)" : ""}`;
    case "done":
      return `finished (${step.outcome})`;
    case "start":
      return "preflight";
    default:
      return step.kind;
  }
}

/** An interrupted release in one line, for refusals and `status`. */
export function describeInFlight(s: InFlightState): string {
  if (s.step.kind === "done") {
    return (
      `release ${s.tag} finished (${s.step.outcome}, ${s.updatedAt}) and its record was written, but its in-flight state was left ` +
      `behind; the next release-gate command clears it`
    );
  }
  return (
    `release ${s.tag} (started ${s.startedAt} by ${s.record.triggeredBy}) stopped at "${stepLabelOf(s.step)}" (last update ` +
    `${s.updatedAt}; ${s.promotionStarted ? "stable was being changed" : "stable untouched"}, highest passed weight ${s.passedWeight})`
  );
}

/** What an operator should know about an unreadable state, and what to do about it. */
export function corruptStateAdvice(reason: string): string {
  return (
    `the in-flight state (ConfigMap ${STATE_CONFIGMAP}) is unreadable: ${reason}. A release may have been interrupted. ` +
    "`release-gate rollback` returns production to rest from the live objects (canary weight 0, verified; canary scaled to 0) and replaces it, " +
    "but without the record it cannot restore stable's previous revision: check the image stable runs, and undo it by hand if it is not the one you expect " +
    "(`kubectl rollout history` / `kubectl rollout undo` on the stable Deployment)"
  );
}

/**
 * This run no longer owns the in-flight state: another run's is stored, or the state this run was carrying on was
 * deleted under it (another run finished or repaired the release). It must neither overwrite nor re-create it.
 */
export class StateOwnedError extends Error {
  /** The run whose state it is now, or who may own production since the state was deleted. */
  readonly holder: string;
  constructor(what: string, stored: InFlightState | undefined) {
    super(
      stored
        ? `${what} refused: ConfigMap ${STATE_CONFIGMAP} now holds another run's release (${stored.tag}, record ${stored.id}, run ` +
            `${stored.holder}); it was left as it is`
        : `${what} refused: ConfigMap ${STATE_CONFIGMAP} was deleted under this run (another run finished or repaired the ` +
            `release); it was not re-created`,
    );
    this.name = "StateOwnedError";
    this.holder = stored ? stored.holder : `whoever deleted ConfigMap ${STATE_CONFIGMAP}`;
  }
}

/** Read the state ConfigMap and say what it holds; a corrupt one is reported, never thrown as a SyntaxError. */
export async function inspectInFlight(kube: Kube, namespace: string): Promise<StoredState> {
  return stored(await readStateConfigMap(kube, namespace));
}

/** What a state ConfigMap (as read or watched) holds. */
export function stored(cm: k8s.V1ConfigMap | undefined): StoredState {
  if (!cm) return { kind: "none" };
  const parsed = parseInFlight(cm.data?.[KEY]);
  return parsed.ok ? { kind: "ok", state: parsed.state } : { kind: "corrupt", reason: parsed.reason };
}

function readStateConfigMap(kube: Kube, namespace: string): Promise<k8s.V1ConfigMap | undefined> {
  return ifExists(() => kube.core.readNamespacedConfigMap({ name: STATE_CONFIGMAP, namespace }));
}

/**
 * The one writer of the in-flight state. A run opens it (one read), then either starts a new state or takes over
 * the one it found, and writes it as production changes: enter(step) before a step's first change,
 * promotionStarting() before stable is touched, rollingBack(), finished() before the record is stored, clear()
 * after. passed() and canaryDigest() are written with the next write: nothing in production changes between a
 * step passing and the next write, so a run that dies in between only redoes a step that had passed.
 */
export class Journal {
  readonly namespace: string;
  /** What was stored when the run opened the journal. */
  readonly found: StoredState;
  private readonly kube: Kube;
  /** The ConfigMap as last read or written: its resourceVersion guards the next write. */
  private cm: k8s.V1ConfigMap | undefined;
  private current: InFlightState | undefined;
  /** The id of the stored state this run may replace: the one it took over. */
  private replacing: string | undefined;
  private written = false;
  /**
   * A state ConfigMap existed for this run (found when it opened, or written by it): once it is gone, another run
   * deleted it, and this run's writes must not re-create it. Only a run that found none creates one.
   */
  private owned: boolean;

  private constructor(kube: Kube, namespace: string, cm: k8s.V1ConfigMap | undefined, found: StoredState) {
    this.kube = kube;
    this.namespace = namespace;
    this.cm = cm;
    this.found = found;
    this.owned = cm !== undefined;
  }

  static async open(kube: Kube, namespace: string): Promise<Journal> {
    const cm = await readStateConfigMap(kube, namespace);
    return new Journal(kube, namespace, cm, stored(cm));
  }

  /** This run's state (in memory; written by the calls below), once started or taken over. */
  get state(): InFlightState | undefined {
    return this.current;
  }

  /** Whether this run has written a state (a run that changed nothing never does). */
  get hasWritten(): boolean {
    return this.written;
  }

  /**
   * Carry on from `state` (new, or built from the one found): nothing is written yet. `takingOver`: the id of the
   * stored state it replaces (a dead run's, or a found one being rolled back).
   */
  begin(state: InFlightState, takingOver?: string): void {
    this.current = state;
    this.replacing = takingOver;
  }

  /**
   * Delete a state found at "done" (its run finished, stored its record and died before clearing it): the caller
   * has stored the record again (the history keeps one per id).
   */
  async discardFinished(): Promise<void> {
    if (this.found.kind !== "ok" || this.found.state.step.kind !== "done") return;
    this.replacing = this.found.state.id;
    await this.clear();
  }

  async enter(step: JournalStep): Promise<void> {
    this.must().step = step;
    await this.write();
  }

  /** The step passed at `weight`; written with the next write. */
  passed(weight: number): void {
    this.must().passedWeight = weight;
  }

  /** The digest the canary of `service` runs; written with the next write. */
  canaryDigest(service: string, digest: string): void {
    const s = this.must().services.find((x) => x.name === service);
    if (s) s.canary.digest = digest;
  }

  /** The observation window's progress (status --watch reads it): written now. */
  async observing(observation: ObservationInFlight): Promise<void> {
    this.must().observation = observation;
    await this.write();
  }

  /** Written before stable is touched, so a run killed from here on is repaired by restoring stable's revision. */
  async promotionStarting(): Promise<void> {
    const s = this.must();
    s.step = { kind: "promote" };
    s.promotionStarted = true;
    await this.write();
  }

  async rollingBack(): Promise<void> {
    this.must().step = { kind: "rollback" };
    await this.write();
  }

  /** The release is over and `record` is final: written before the record is stored, so a crash leaves one or the other. */
  async finished(outcome: "succeeded" | "rolled-back" | "no-change", record: ReleaseRecord): Promise<void> {
    const s = this.must();
    s.step = { kind: "done", outcome };
    s.record = record;
    await this.write();
  }

  /** Kept in flight with `record` (a rollback that did not finish): the next run finds it and repairs. */
  async keep(record: ReleaseRecord): Promise<void> {
    this.must().record = record;
    await this.write();
  }

  /** Delete the state: this run's, or the unreadable one it was told to replace. Another run's is left alone. */
  async clear(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (!this.cm) return;
      this.assertMayReplace(this.cm, "clearing the in-flight state");
      try {
        await this.kube.core.deleteNamespacedConfigMap({
          name: STATE_CONFIGMAP,
          namespace: this.namespace,
          body: { preconditions: { resourceVersion: this.cm.metadata?.resourceVersion } },
        });
        this.cm = undefined;
        this.owned = false;
        return;
      } catch (err) {
        if (isNotFound(err)) {
          this.cm = undefined;
          return;
        }
        if (!isConflict(err) || attempt >= 3) throw err;
        this.cm = await readStateConfigMap(this.kube, this.namespace);
      }
    }
  }

  private must(): InFlightState {
    if (!this.current) throw new Error("the journal has no state: begin() first");
    return this.current;
  }

  /** A valid stored state must be this run's or the one it took over; an unreadable one may be replaced. */
  private assertMayReplace(cm: k8s.V1ConfigMap, what: string): void {
    const s = stored(cm);
    if (s.kind !== "ok") return;
    if (s.state.id === this.current?.id || s.state.id === this.replacing) return;
    throw new StateOwnedError(what, s.state);
  }

  /**
   * Write the whole state: a replace carrying the resourceVersion last seen (or a create when there was none). On a
   * conflict, or a replace of a deleted ConfigMap, the ConfigMap is read again: our own text already there (a write
   * applied, then replayed after a lost answer) is done; another run's state is left alone, and a state deleted under
   * this run is not re-created (StateOwnedError): every write is conditional on the run still owning the state.
   */
  private async write(): Promise<void> {
    const state = this.must();
    state.updatedAt = new Date().toISOString();
    const text = JSON.stringify(state);
    const metadata = { name: STATE_CONFIGMAP, namespace: this.namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY } };
    for (let attempt = 1; ; attempt++) {
      if (this.cm?.data?.[KEY] === text) break;
      if (this.cm) this.assertMayReplace(this.cm, "writing the in-flight state");
      else if (this.owned) throw new StateOwnedError("writing the in-flight state", undefined);
      try {
        this.cm = this.cm
          ? await this.kube.core.replaceNamespacedConfigMap({
              name: STATE_CONFIGMAP,
              namespace: this.namespace,
              body: { metadata: { ...metadata, resourceVersion: this.cm.metadata?.resourceVersion }, data: { [KEY]: text } },
            })
          : await this.kube.core.createNamespacedConfigMap({ namespace: this.namespace, body: { metadata, data: { [KEY]: text } } });
        break;
      } catch (err) {
        if (!(isConflict(err) || isNotFound(err)) || attempt >= 3) throw err;
        this.cm = await readStateConfigMap(this.kube, this.namespace);
      }
    }
    this.written = true;
    this.owned = true;
  }
}
