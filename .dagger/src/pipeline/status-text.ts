/** `status` in words: what production runs, whether it is healthy, the lock and the release in flight (status.ts reads them). */
import { repositoryOf } from "../config/image-ref.ts";
import { STALE_INTERVALS } from "../kube/lease-lock.ts";
import { shortDuration } from "./progress.ts";
import type { InFlightStatus, ProductionStatus, Side } from "./status.ts";

/** An image pinned by digest is shown with the tag it was released as, `repository:tag@sha256:…` (the digest is what runs). */
function shown(s: Side): string {
  if (!s.image) return "?";
  const at = s.image.indexOf("@");
  return s.releasedAs && at >= 0 && repositoryOf(s.image) === s.image.slice(0, at)
    ? `${s.image.slice(0, at)}:${s.releasedAs}${s.image.slice(at)}`
    : s.image;
}

const ago = (ms: number | undefined): string => (ms === undefined ? "never" : `${shortDuration(ms)} ago`);
const pct = (w: number) => `${Math.round(w * 10) / 10}%`;

function lockLine(st: ProductionStatus): string {
  const l = st.lock;
  if (!l) return "lock: free";
  // renewTime is the holder's clock; "ago" is this machine's. Only what was watched is independent of both.
  if (!l.stale) return `lock: held by ${l.heldBy}, renewed ${ago(l.renewedAgoMs)} by this machine's clock (alive)`;
  const watched = l.observedSilentMs !== undefined ? `, and not renewed while watched for ${shortDuration(l.observedSilentMs)}` : "";
  return (
    `lock: held by ${l.heldBy}, last renewed ${ago(l.renewedAgoMs)} by this machine's clock${watched}: STALE, its run is taken for dead ` +
    `(no renewal for ${STALE_INTERVALS} renew intervals${l.expired ? "; expired" : ""})`
  );
}

function inFlightLines(f: InFlightStatus): string[] {
  const what = `release ${f.tag} (started ${f.startedAt} by ${f.triggeredBy})`;
  switch (f.liveness) {
    case "running": {
      const o = f.observation;
      return [
        `in flight: RUNNING — ${what} is at "${f.stepLabel}"; its run is alive (it renews the lock). Nothing to repair: ` +
          "wait for it (`release-gate status --watch` follows it to the end).",
        ...(o
          ? [
              `  observing weight ${o.weight}%: ${shortDuration(o.leftMs)} left, ${o.probesPassed} probe(s) passed` +
                (o.lastProbe
                  ? `, last ${o.lastProbe.ok ? "passed" : `FAILED (${(o.lastProbe.failed ?? []).join("; ")})`} at ${o.lastProbe.at}`
                  : ""),
            ]
          : []),
      ];
    }
    case "held":
      return [
        `in flight: HELD — the canary of ${what} is held at weight ${f.step.kind === "canary" ? f.step.weight : "?"} for the operator ` +
          `(highest passed weight ${f.passedWeight}). Next: ${f.options.map((o) => `\`${o}\``).join(", or ")}.`,
      ];
    case "finished":
      return [`in flight: ${f.summary}.`];
    default:
      return [
        `in flight: STOPPED — ${what} stopped at "${f.stepLabel}" ${f.deadForMs !== undefined ? `about ${shortDuration(f.deadForMs)} ago` : ""} ` +
          `and its run is gone (${f.promotionStarted ? "stable was being changed" : "stable untouched"}, highest passed weight ${f.passedWeight}).`,
        `  Ways out: ${f.options.map((o) => `\`${o}\``).join("; ")}` +
          " (rollback: back to the previous version; --resume: redo the interrupted step after checking production matches the record; " +
          "--repair: roll it back, then release another tag).",
      ];
  }
}

export function statusToText(st: ProductionStatus): string {
  const health = st.healthy ? "healthy" : "NOT HEALTHY";
  const head = st.resting
    ? `namespace ${st.namespace}: at rest and healthy (all traffic on stable, every stable replica Available, canary at 0)`
    : `namespace ${st.namespace}: NOT at rest, ${health}`;
  const lines = [head, ""];
  const sideText = (s: Side) =>
    s.missing
      ? `MISSING (Deployment ${s.deployment} does not exist: no pods, no traffic)`
      : `${shown(s)}  ${s.available}/${s.replicas} available`;
  for (const s of st.services) {
    lines.push(`${s.name}`);
    lines.push(`  stable  ${sideText(s.stable)}`);
    lines.push(`  canary  ${sideText(s.canary)}`);
  }
  lines.push("", st.inFlight ? "canary weights (the objects the release in flight recorded):" : "canary weights:");
  for (const w of st.weights) lines.push(`  ${w.router}: ${w.weight === null ? `unreadable (${w.error})` : pct(w.weight)}`);
  if (st.problems.length) {
    lines.push("", "PRODUCTION IS NOT HEALTHY:");
    for (const p of st.problems) lines.push(`  - ${p}`);
  }
  for (const d of st.drift) {
    lines.push(
      "",
      `WARNING: drift: ${d.deployment} runs ${d.running}, but the last release (${d.recordTag}, record ${d.recordId}` +
        `${d.at ? `, ${d.at}` : ""}) left it on ${d.recorded}. Something outside release-gate changed it (a re-applied manifest, ` +
        "a GitOps sync, kubectl set image): see docs/gitops.md.",
    );
  }
  for (const w of st.warnings) lines.push("", `WARNING: ${w}`);
  lines.push("", lockLine(st));
  if (st.stateUnreadable) {
    lines.push(`in flight: UNREADABLE — ${st.stateUnreadable.advice}.`);
    return lines.join("\n") + "\n";
  }
  if (!st.inFlight) {
    lines.push(
      `in flight: none${st.lock && !st.lock.stale ? " written yet (the lock's holder is alive: a run is starting or finishing)" : ""}`,
    );
    return lines.join("\n") + "\n";
  }
  lines.push(...inFlightLines(st.inFlight));
  if (st.inFlight.configDifferences.length) {
    lines.push(
      `  release.yaml differs from what this release recorded (status reads the recorded objects): ` +
        st.inFlight.configDifferences.join("; "),
    );
  }
  return lines.join("\n") + "\n";
}
