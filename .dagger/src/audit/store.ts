/**
 * Keeping a finished record: the history ConfigMap (bounded) and an Event on each Deployment it concerns. Storing
 * is best effort: a record that cannot be written is reported (`warn`), never a reason to leave production
 * half-released; the caller keeps it anyway (printed, and in the in-flight state while one is kept).
 */
import type { Kube } from "../kube/client.ts";
import { describeApiError } from "../kube/api-errors.ts";
import { emitEvent } from "./events.ts";
import { appendHistory, HISTORY_CONFIGMAP, HISTORY_MAX_BYTES } from "./history.ts";
import type { ReleaseRecord } from "./record.ts";

export interface StoreRecordOptions {
  namespace: string;
  historyLimit: number;
  /** The Deployments to put an Event on (the stable ones), with their uid when known. */
  deployments: Array<{ name: string; uid?: string | undefined }>;
  warn: (message: string) => void;
}

const REASONS: Record<ReleaseRecord["outcome"], string> = {
  succeeded: "ReleaseSucceeded",
  "rolled-back": "ReleaseRolledBack",
  "rollback-failed": "RollbackFailed",
  "no-change": "ReleaseNoChange",
};

/** Store `record`; resolves true when the history ConfigMap has it. */
export async function storeRecord(kube: Kube, record: ReleaseRecord, o: StoreRecordOptions): Promise<boolean> {
  let stored = true;
  let trimmed = "";
  try {
    const cost = await appendHistory(kube, o.namespace, record, o.historyLimit, o.warn);
    trimmed = [
      cost.droppedForSize ? `${cost.droppedForSize} older record(s) dropped` : "",
      cost.detailLeftOut ? "this record stored without its per-check detail" : "",
    ]
      .filter(Boolean)
      .join(", ");
    if (trimmed) {
      o.warn(
        `ConfigMap ${o.namespace}/${HISTORY_CONFIGMAP} keeps at most ${HISTORY_MAX_BYTES / 1024} KiB of records (a ConfigMap holds 1 MiB): ` +
          `${trimmed} to make room for it (the record printed here is whole)`,
      );
    }
  } catch (err) {
    stored = false;
    o.warn(`could not store the release record in ConfigMap release-gate-history: ${describeApiError(err)}`);
  }
  const type = record.outcome === "succeeded" || record.outcome === "no-change" ? "Normal" : "Warning";
  const why = record.rollbackReason ? ` (${record.rollbackReason})` : "";
  // Before the reason: an Event message is cut at 1024 characters.
  const space = trimmed ? ` [release history: ${trimmed} for size]` : "";
  const message = `release-gate ${record.command} ${record.tag} by ${record.triggeredBy}: ${record.outcome}${space}${why}`;
  await Promise.all(
    o.deployments.map((d) =>
      emitEvent(kube, o.namespace, {
        deployment: d.name,
        ...(d.uid ? { uid: d.uid } : {}),
        type,
        reason: REASONS[record.outcome],
        message,
      }).catch((err: unknown) => o.warn(`could not emit an Event on ${d.name}: ${describeApiError(err)}`)),
    ),
  );
  return stored;
}
