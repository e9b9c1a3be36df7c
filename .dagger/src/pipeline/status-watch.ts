/**
 * `status --watch`: follows a release until it ends, from watches of the in-flight state (ConfigMap), the lock
 * (Lease) and the namespace's Deployments: what it shows changes when they do, at no request. The live weights are
 * read again only when the state or the Deployments changed (at most every WEIGHT_READ_MS), and the history once,
 * at the end, for the verdict. Exit 0 when the release was promoted, 1 when it was rolled back or its run died,
 * 2 when there is nothing to watch.
 *
 * On a terminal the picture is redrawn in place (and its clock every second); on a log, one line whenever what it
 * says changes, and at least every heartbeat.
 */
import type * as k8s from "@kubernetes/client-node";
import { readHistory } from "../audit/history.ts";
import type { ReleaseRecord } from "../audit/record.ts";
import { listWatch } from "../health/list-watch.ts";
import { explainApiFailure } from "../kube/api-errors.ts";
import { describeLease, judgedBySilence, LOCK_NAME, type LockInfo, staleWindowMs } from "../kube/lease-lock.ts";
import type { Routing } from "../traffic/routing.ts";
import type { PipelineEnv } from "./context.ts";
import { type InFlightState, STATE_CONFIGMAP, stored } from "./journal.ts";
import { elapsedColumn, HEARTBEAT_MS, shortDuration } from "./progress.ts";
import { recordedRouting } from "./recorded.ts";
import { describeState, type InFlightStatus, type ProductionStatus, readStatus, serviceSides } from "./status.ts";
import { statusToText } from "./status-text.ts";

/** How a watch ended: its exit code and the last line to print. */
export interface WatchEnd {
  code: 0 | 1 | 2;
  message: string;
}

export interface WatchStatusOptions {
  /** Where the picture goes (stdout). */
  write: (text: string) => void;
  /** Redraw in place (a terminal) or print lines (a log). */
  tty: boolean;
  signal?: AbortSignal;
}

const WEIGHT_READ_MS = 2_000;
const REDRAW_DEBOUNCE_MS = 100;

/** What one picture shows. */
export interface WatchView {
  state: InFlightStatus | undefined;
  lock: LockInfo | undefined;
  services: ProductionStatus["services"];
  weights: ProductionStatus["weights"];
}

/** The release's verdict from its record: promoted (or nothing to release) 0, anything else 1. */
function verdict(record: ReleaseRecord | undefined, tag: string): WatchEnd {
  if (!record)
    return { code: 1, message: `release ${tag} ended, but its record was not found in the history: run \`release-gate status\`` };
  const ok = record.outcome === "succeeded" || record.outcome === "no-change";
  const why = record.rollbackReason ? `: ${record.rollbackReason}` : "";
  return ok
    ? { code: 0, message: `release ${tag} ${record.outcome === "no-change" ? "had nothing to release" : "promoted"} (record ${record.id})` }
    : {
        code: 1,
        message:
          `release ${tag} ${record.outcome === "rollback-failed" ? "FAILED and its rollback did not finish" : "rolled back"}` +
          `${why} (record ${record.id})`,
      };
}

/** One line of the picture for a log: what the release is doing, its weights and pods, its window. */
export function summaryLine(v: WatchView): string {
  const f = v.state;
  const live = v.weights.map((w) => (w.weight === null ? "?" : `${Math.round(w.weight * 10) / 10}`)).join("/");
  const pods = v.services.map((s) => `${s.name} ${s.canary.missing ? "missing" : `${s.canary.ready}/${s.canary.replicas}`}`).join(", ");
  const parts = [
    f ? `release ${f.tag} ${f.stepLabel} (${f.liveness})` : "a run holds the lock; nothing in flight yet",
    `weight ${f?.step.kind === "canary" ? `set ${f.step.weight}, ` : ""}live ${live || "?"}`,
    ...(f?.observedSplit?.length
      ? [`observed ${f.observedSplit.map((o) => `${o.service} ${o.observed < 0 ? "?" : Math.round(o.observed)}%`).join(", ")}`]
      : []),
    `canary pods Ready ${pods}`,
  ];
  const o = f?.observation;
  if (o) {
    const last = o.lastProbe ? (o.lastProbe.ok ? ", last passed" : `, last FAILED (${(o.lastProbe.failed ?? []).join("; ")})`) : "";
    parts.push(`${o.probesPassed} probe(s) passed${last}`, `${shortDuration(o.leftMs)} left`);
  }
  return parts.join(" · ");
}

/** The picture for a terminal: the summary spread over lines, with the stable side and the lock. */
export function picture(v: WatchView): string {
  const f = v.state;
  const lines = [
    f
      ? `release ${f.tag} (by ${f.triggeredBy}) — ${f.stepLabel} — ${f.liveness.toUpperCase()}`
      : "a run holds the lock; nothing in flight yet",
  ];
  for (const w of v.weights)
    lines.push(`  weight ${w.weight === null ? `unreadable (${w.error})` : `${Math.round(w.weight * 10) / 10}%`} on ${w.router}`);
  if (f?.step.kind === "canary") lines.push(`  weight set: ${f.step.weight}% (highest passed ${f.passedWeight}%)`);
  for (const o of f?.observedSplit ?? [])
    lines.push(
      `  observed split ${o.service}: ${o.observed < 0 ? "?" : `${Math.round(o.observed)}%`} of ${o.samples} requests (expected ${o.expected}%)`,
    );
  const o = f?.observation;
  if (o) {
    lines.push(`  observing: ${shortDuration(o.leftMs)} left, ${o.probesPassed} probe(s) passed`);
    if (o.lastProbe)
      lines.push(`  last probe ${o.lastProbe.at}: ${o.lastProbe.ok ? "passed" : `FAILED (${(o.lastProbe.failed ?? []).join("; ")})`}`);
  }
  for (const s of v.services) {
    const c = s.canary.missing ? "MISSING" : `${s.canary.ready}/${s.canary.replicas} Ready (${s.canary.image ?? "?"})`;
    const st = s.stable.missing ? "MISSING" : `${s.stable.available}/${s.stable.replicas} available (${s.stable.image ?? "?"})`;
    lines.push(`  ${s.name}: canary ${c}; stable ${st}`);
  }
  const l = v.lock;
  const renewed = l?.renewedAgoMs === undefined ? "never" : `${shortDuration(l.renewedAgoMs)} ago`;
  lines.push(`  lock: ${l ? `${l.holder}, renewed ${renewed}${l.stale ? " (STALE)" : ""}` : "free"}`);
  return lines.join("\n");
}

export async function watchStatus(env: Pick<PipelineEnv, "kube" | "config">, o: WatchStatusOptions): Promise<WatchEnd> {
  const { kube, config } = env;
  const ns = config.namespace;
  const started = Date.now();
  const first = await readStatus(env, { onWaiting: (what) => o.write(`${what}\n`) });
  const alive = first.lock !== null && !first.lock.stale;
  if (!first.inFlight && !alive) {
    o.write(statusToText(first));
    return {
      code: 2,
      message: first.stateUnreadable
        ? "nothing to watch: the in-flight state is unreadable and no run holds the lock (see above)"
        : "nothing to watch: no release is in flight and no run holds the release lock",
    };
  }
  const abort = new AbortController();
  const signal = o.signal ? AbortSignal.any([o.signal, abort.signal]) : abort.signal;
  let cm: k8s.V1ConfigMap | undefined;
  let lease: k8s.V1Lease | undefined;
  const deployments = new Map<string, k8s.V1Deployment>();
  let seen: InFlightState | undefined;
  let weights: ProductionStatus["weights"] = first.weights;
  let weightsReadAt = Date.now();
  let routing: { id: string; routing: Routing } | undefined;
  let lastLine = "";
  let lastLineAt = 0;
  let end: WatchEnd | undefined;
  let finish!: (e: WatchEnd) => void;
  const ended = new Promise<WatchEnd>((r) => (finish = r));
  let redrawTimer: NodeJS.Timeout | undefined;
  let weightsDue = false;
  // The holder is judged by the Lease changing while watched, on this process's own clock (as takeovers judge it),
  // never by comparing its renewTime with the local clock. A holder the first read already saw silent stays so.
  let leaseVersion: string | undefined;
  let leaseChangedAt = first.lock?.stale && first.lock.observedSilentMs !== undefined ? -Infinity : performance.now();
  let silenceTimer: NodeJS.Timeout | undefined;
  const judgedLock = (): LockInfo | undefined => {
    const lock = describeLease(lease);
    return lock && judgedBySilence(lock, performance.now() - leaseChangedAt);
  };

  const parsed = (): InFlightState | undefined => {
    const found = stored(cm);
    return found.kind === "ok" ? found.state : undefined;
  };
  const view = (): WatchView => {
    const state = parsed();
    const lock = judgedLock();
    return {
      state: state ? describeState(state, config, lock) : undefined,
      lock,
      services: serviceSides(state?.services ?? config.services, [...deployments.values()]),
      weights,
    };
  };
  const draw = () => {
    const v = view();
    if (o.tty) {
      o.write(`\x1b[H\x1b[2J${picture(v)}\n`);
      return;
    }
    const line = summaryLine(v);
    // A log gets a line when what it says changes (the countdown aside), and at least every heartbeat.
    const gist = line.replace(/ · \S+ left$/, "");
    if (gist === lastLine && Date.now() - lastLineAt < HEARTBEAT_MS) return;
    lastLine = gist;
    lastLineAt = Date.now();
    o.write(`${elapsedColumn(Date.now() - started)} ${line}\n`);
  };
  const readWeights = async () => {
    const state = parsed() ?? seen;
    if (!state) return;
    if (routing?.id !== state.id) routing = { id: state.id, routing: recordedRouting(kube, state, ns) };
    weightsReadAt = Date.now();
    weightsDue = false;
    weights = await routing.routing.weights();
  };
  const listed = new Set<string>();
  const settle = async () => {
    if (listed.size < 3) return; // Nothing is concluded before the state, the lock and the Deployments were each listed.
    const state = parsed();
    if (state) seen = state;
    const lock = judgedLock();
    const liveLock = lock && !lock.stale;
    if (state?.step.kind === "done") return stop(verdict(state.record, state.tag));
    if (!state && seen) {
      // Cleared: the record is in the history (it is stored before the state is cleared).
      const history = await readHistory(kube, ns).catch(() => [] as ReleaseRecord[]);
      return stop(
        verdict(
          history.find((r) => r.id === seen!.id) ??
            history.find((r) => r.tag === seen!.tag && Date.parse(r.startedAt) >= Date.parse(seen!.startedAt)),
          seen.tag,
        ),
      );
    }
    if (!state && !liveLock) {
      const history = await readHistory(kube, ns).catch(() => [] as ReleaseRecord[]);
      const rec = history.find((r) => Date.parse(r.finishedAt ?? r.startedAt) >= started - 1000);
      return stop(rec ? verdict(rec, rec.tag) : { code: 2, message: "the run that held the lock ended without a release in flight" });
    }
    if (state && !liveLock) {
      const d = describeState(state, config, lock);
      if (d.liveness === "dead") {
        return stop({
          code: 1,
          message:
            `release ${state.tag} stopped at "${d.stepLabel}": its run is gone (the lock ${lock ? "went stale" : "was released"}). ` +
            `Ways out: ${d.options.map((x) => `\`${x}\``).join("; ")}`,
        });
      }
    }
  };
  const stop = (e: WatchEnd) => {
    if (end) return;
    end = e;
    finish(e);
  };
  const changed = (weightsToo: boolean) => {
    weightsDue ||= weightsToo;
    if (redrawTimer) return;
    redrawTimer = setTimeout(() => {
      redrawTimer = undefined;
      void (async () => {
        await settle();
        if (end) return;
        if (weightsDue && Date.now() - weightsReadAt >= WEIGHT_READ_MS) await readWeights().catch(() => undefined);
        else if (weightsDue) changed(true);
        draw();
      })().catch((err: unknown) => stop({ code: 1, message: `status --watch failed: ${(err as Error).message}` }));
    }, REDRAW_DEBOUNCE_MS);
  };

  const field = (name: string) => ({ fieldSelector: `metadata.name=${name}` });
  const follow = <T extends { metadata?: { name?: string; resourceVersion?: string } }>(
    path: string,
    query: Record<string, string>,
    list: () => Promise<{ items: T[] }>,
    set: (items: T[] | undefined, type: "LIST" | "ADDED" | "MODIFIED" | "DELETED", obj?: T) => void,
  ) =>
    listWatch<T>({
      kube,
      path,
      query,
      list,
      signal,
      timeoutSeconds: 300,
      onList: (items) => {
        listed.add(path);
        set(items, "LIST");
      },
      onEvent: (type, obj) => set(undefined, type, obj),
    });
  const watches = Promise.all([
    follow<k8s.V1ConfigMap>(
      `/api/v1/namespaces/${ns}/configmaps`,
      field(STATE_CONFIGMAP),
      () => kube.core.listNamespacedConfigMap({ namespace: ns, ...field(STATE_CONFIGMAP) }),
      (items, type, obj) => {
        cm = items ? items[0] : type === "DELETED" ? undefined : obj;
        changed(true);
      },
    ),
    follow<k8s.V1Lease>(
      `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`,
      field(LOCK_NAME),
      () => kube.coordination.listNamespacedLease({ namespace: ns, ...field(LOCK_NAME) }),
      (items, type, obj) => {
        lease = items ? items[0] : type === "DELETED" ? undefined : obj;
        const version = lease?.metadata?.resourceVersion;
        if (version !== leaseVersion) {
          if (leaseVersion !== undefined || type !== "LIST") leaseChangedAt = performance.now();
          leaseVersion = version;
          // Judged again once it has been silent for its whole stale window.
          const lock = describeLease(lease);
          if (silenceTimer) clearTimeout(silenceTimer);
          if (lock)
            silenceTimer = setTimeout(() => changed(false), Math.max(0, staleWindowMs(lock) - (performance.now() - leaseChangedAt)) + 50);
        }
        changed(false);
      },
    ),
    follow<k8s.V1Deployment>(
      `/apis/apps/v1/namespaces/${ns}/deployments`,
      {},
      () => kube.apps.listNamespacedDeployment({ namespace: ns }),
      (items, type, obj) => {
        if (items) {
          deployments.clear();
          for (const d of items) deployments.set(d.metadata?.name ?? "", d);
        } else if (obj) {
          if (type === "DELETED") deployments.delete(obj.metadata?.name ?? "");
          else deployments.set(obj.metadata?.name ?? "", obj);
        }
        changed(true);
      },
    ),
  ]).then(
    () => stop({ code: 1, message: "status --watch stopped: the watches ended" }),
    (err: unknown) =>
      stop({
        code: 1,
        message: `status --watch lost its watch of the cluster: ${explainApiFailure(err, kube.kc.getCurrentCluster()?.server, ns)}`,
      }),
  );
  // The countdown and "renewed … ago" move with the clock alone: redrawn locally, never read again.
  const clock = setInterval(() => !end && draw(), o.tty ? 1_000 : HEARTBEAT_MS);
  const onAbort = () => stop({ code: 1, message: `status --watch interrupted: ${String(o.signal?.reason ?? "aborted")}` });
  o.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const result = await ended;
    return result;
  } finally {
    clearInterval(clock);
    if (redrawTimer) clearTimeout(redrawTimer);
    if (silenceTimer) clearTimeout(silenceTimer);
    o.signal?.removeEventListener("abort", onAbort);
    abort.abort();
    await watches;
  }
}
