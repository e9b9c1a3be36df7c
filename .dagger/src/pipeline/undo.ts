/**
 * `undo`: take back the last release. The image each stable Deployment ran before it (its record's previousImage,
 * in release-gate-history) is released again through the same phases as any deploy (or straight to promotion with
 * --skip-canary and a reason), under the same lifecycle. Stable is put back on exactly the digest it ran before
 * when the record knows it: the canary must run that digest, or the release fails (the tag was pushed again).
 *
 * Refused (exit 2, nothing changed) when there is nothing sure to take back: no release recorded, the last one did
 * not finish (it already rolled back), stable no longer runs what it left, or what ran before cannot be named by
 * one tag.
 */
import { readHistory } from "../audit/history.ts";
import type { ReleaseRecord } from "../audit/record.ts";
import { repositoryOf, versionOf } from "../config/image-ref.ts";
import type { ReleaseConfig } from "../config/schema.ts";
import { UsageError } from "../errors.ts";
import { describeApiError } from "../kube/api-errors.ts";
import { containerImage } from "../kube/deployments.ts";
import { type PipelineEnv, type Run, servicesOf } from "./context.ts";
import { withRelease } from "./lifecycle.ts";
import { runPlan } from "./run-plan.ts";

export interface UndoRequest {
  skipCanary?: boolean;
  /** Why (recorded); required with skipCanary. */
  reason?: string;
  signal?: AbortSignal;
}

/** What an undo takes back and what it releases. */
export interface UndoPlan {
  /** The release taken back. */
  undone: Pick<ReleaseRecord, "id" | "tag" | "triggeredBy" | "startedAt" | "finishedAt">;
  /** The tag released: what stable ran before it. */
  tag: string;
  services: Array<{
    name: string;
    /** What the undone release left stable on (it must still run it). */
    left: string;
    /** What stable ran before it. */
    previous: string;
    /** The digest stable ran before, when recorded: the canary must run exactly it. */
    digest?: string;
  }>;
}

/** The record an undo writes: a deploy that says which release it took back. */
export type UndoRecord = ReleaseRecord & { undoes?: UndoPlan["undone"] & { reason?: string } };

const NOTHING_CHANGED = "nothing was changed";

const describe = (r: ReleaseRecord) =>
  `${r.tag} (${r.command}, ${r.outcome}, ${r.finishedAt ?? r.startedAt} by ${r.triggeredBy}, record ${r.id})`;

/** Records of releases that ended (a `canary` command's record only says the canary was held: not an end). */
const ended = (history: ReleaseRecord[]) => history.filter((r) => r.command !== "canary" && r.outcome !== "no-change");

/** The tag an image was released as: its own tag, or (pinned by digest) the tag of the record that left stable on it. */
function tagOf(image: string, service: string, older: ReleaseRecord[]): string | undefined {
  if (!image.includes("@")) return versionOf(image);
  return older.find((r) => r.outcome === "succeeded" && r.services.some((s) => s.name === service && s.finalImage === image))?.tag;
}

/**
 * What `undo` would do with this history and release.yaml, or the refusal (UsageError) saying why it cannot and
 * what to run instead. Pure: the caller read the history.
 */
export function planUndo(history: ReleaseRecord[], config: ReleaseConfig): UndoPlan {
  const releases = ended(history);
  const last = releases[0];
  if (!last) {
    throw new UsageError(
      `refused: no finished release is recorded in ConfigMap ${config.namespace}/release-gate-history, so there is nothing to undo; ` +
        `release the version you want with \`release-gate deploy --tag <tag>\`; ${NOTHING_CHANGED}`,
    );
  }
  if (last.outcome !== "succeeded") {
    const before = releases.find((r) => r.outcome === "succeeded");
    throw new UsageError(
      `refused: the last release, ${describe(last)}, was itself a failure: production was already put back on what ran before it, ` +
        `so undo has nothing of it to take back.` +
        (before
          ? ` To take back the release before it as well, ${before.tag}, release what ran before that one with \`release-gate deploy --tag ` +
            `${tagOf(before.services[0]?.previousImage ?? "", before.services[0]?.name ?? "", history.slice(history.indexOf(before) + 1)) ?? "<tag>"}\``
          : "") +
        `; ${NOTHING_CHANGED}`,
    );
  }
  const older = history.slice(history.indexOf(last) + 1);
  const services: UndoPlan["services"] = [];
  const tags = new Map<string, string>();
  for (const svc of config.services) {
    const s = last.services.find((x) => x.name === svc.name);
    if (!s) {
      throw new UsageError(
        `refused: the last release, ${describe(last)}, did not release ${svc.name} (release.yaml changed since?): undo takes back a whole ` +
          `release; release the version you want with \`release-gate deploy --tag <tag>\`; ${NOTHING_CHANGED}`,
      );
    }
    const left = s.finalImage ?? s.digest ?? s.newImage;
    const tag = tagOf(s.previousImage, s.name, older);
    if (!tag) {
      throw new UsageError(
        `refused: before ${last.tag}, ${svc.name}'s stable ran ${s.previousImage}, pinned by digest, and no record says which tag that was; ` +
          `release it by its tag with \`release-gate deploy --tag <tag>\`; ${NOTHING_CHANGED}`,
      );
    }
    if (svc.image && repositoryOf(s.previousImage) !== svc.image) {
      throw new UsageError(
        `refused: before ${last.tag}, ${svc.name}'s stable ran ${s.previousImage}, from another repository than release.yaml's ${svc.image}; ` +
          `${NOTHING_CHANGED}`,
      );
    }
    const at = s.previousImage.indexOf("@");
    services.push({ name: svc.name, left, previous: s.previousImage, ...(at >= 0 ? { digest: s.previousImage.slice(at + 1) } : {}) });
    tags.set(svc.name, tag);
  }
  const distinct = [...new Set(tags.values())];
  if (distinct.length !== 1) {
    throw new UsageError(
      `refused: before ${last.tag}, the services ran different versions (${[...tags].map(([n, t]) => `${n} ${t}`).join(", ")}); undo releases ` +
        `one tag for all of them: release them with \`release-gate deploy --tag <tag>\` (release.yaml's services), one at a time; ${NOTHING_CHANGED}`,
    );
  }
  if (services.every((s) => s.previous === s.left)) {
    throw new UsageError(
      `refused: the last release, ${describe(last)}, did not change what stable runs; nothing to undo; ${NOTHING_CHANGED}`,
    );
  }
  return {
    undone: {
      id: last.id,
      tag: last.tag,
      triggeredBy: last.triggeredBy,
      startedAt: last.startedAt,
      ...(last.finishedAt ? { finishedAt: last.finishedAt } : {}),
    },
    tag: distinct[0]!,
    services,
  };
}

/** One line for people: "takes back 1.4.2 (…): releases 1.4.1, what stable ran before it". */
export function describeUndo(p: UndoPlan): string {
  return (
    `takes back ${p.undone.tag} (record ${p.undone.id}, released ${p.undone.finishedAt ?? p.undone.startedAt} by ${p.undone.triggeredBy}): ` +
    `releases ${p.tag}, what stable ran before it (${p.services.map((s) => `${s.name} ${s.previous}`).join(", ")})`
  );
}

/** Under the lock, from the run's watch: stable must still run what the undone release left, or undo would take back something else. */
function assertStableAsLeft(run: Run, plan: UndoPlan): void {
  const differs = servicesOf(run).flatMap((s) => {
    const want = plan.services.find((x) => x.name === s.name)?.left;
    const d = run.cluster.deployment(s.stable.deployment);
    const live = d ? containerImage(d, s.container) : undefined;
    return want && live !== want ? [`${s.stable.deployment} runs ${live ?? "nothing"}, not ${want}`] : [];
  });
  if (differs.length) {
    throw new UsageError(
      `refused: stable changed since release ${plan.undone.tag} (record ${plan.undone.id}) finished: ${differs.join("; ")}. Undo would not ` +
        `take back what you think (\`release-gate status\` shows the drift); release the version you want with \`release-gate deploy --tag <tag>\`; ` +
        NOTHING_CHANGED,
    );
  }
}

export async function undo(env: PipelineEnv, req: UndoRequest): Promise<ReleaseRecord> {
  const reason = req.reason?.trim();
  if (req.skipCanary && !reason) {
    throw new UsageError("--skip-canary needs --reason (it is recorded with the release); nothing was changed in the cluster");
  }
  const history = await readHistory(env.kube, env.config.namespace).catch((err: unknown) => {
    throw new UsageError(
      `refused: undo could not read the release history (ConfigMap ${env.config.namespace}/release-gate-history): ${describeApiError(err)}; ` +
        NOTHING_CHANGED,
    );
  });
  const plan = planUndo(history, env.config);
  env.progress.info(`undo ${describeUndo(plan)}`);
  const skipCanary = req.skipCanary ?? false;
  return withRelease(
    env,
    {
      command: "deploy",
      tag: plan.tag,
      inFlight: "refuse",
      planFrom: 0,
      ...(skipCanary ? { skipCanary: { reason: reason! } } : {}),
      ...(req.signal ? { signal: req.signal } : {}),
    },
    async (run) => {
      assertStableAsLeft(run, plan);
      // Exactly what ran before: the canary's pods must run the recorded digest (checked before any traffic), and
      // with --skip-canary stable is pinned to it.
      for (const s of plan.services) if (s.digest) run.journal.canaryDigest(s.name, s.digest);
      const record = run.record as UndoRecord;
      record.undoes = { ...plan.undone, ...(reason ? { reason } : {}) };
      const now = new Date().toISOString();
      record.steps.push({
        name: "undo",
        startedAt: now,
        finishedAt: now,
        durationMs: 0,
        result: "passed",
        detail: `${describeUndo(plan)}${reason ? `; reason: ${reason}` : ""}`,
        smoke: [],
      });
      return runPlan(run, { skipCanary, startIndex: 0 });
    },
  );
}
