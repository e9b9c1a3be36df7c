/**
 * Bounded release history in the cluster: a ConfigMap whose `records.json` holds the newest N records, newest
 * first. Written with the object's resourceVersion, so two writers cannot lose each other's record.
 *
 * Bounded by size too: a ConfigMap holds at most 1 MiB, and a record grows with every smoke result, observed split and
 * metric evaluation. The history keeps the newest records that fit in HISTORY_MAX_BYTES (older ones go first), and
 * the newest is always kept: storing a record never fails for its size. The record says what that cost.
 *
 * Anyone with `update` on the ConfigMap can damage it, so what is read is validated (historySchema): a record that
 * is not one is never shown or kept as if it were. When a release stores its record over damaged content, the
 * content is not lost: it is moved aside to a key of its own (`records.unreadable.<time>.json`) and recording goes on.
 */
import pRetry, { AbortError } from "p-retry";
import { z } from "zod";
import type { Kube } from "../kube/client.ts";
import { ifExists, isConflict, isNotFound } from "../kube/api-errors.ts";
import { MANAGED_BY, MANAGED_BY_LABEL } from "../kube/labels.ts";
import type { ReleaseRecord } from "./record.ts";

export const HISTORY_CONFIGMAP = "release-gate-history";
const KEY = "records.json";
const ASIDE_PREFIX = "records.unreadable.";

/** What the history's data may take: well under the 1 MiB the API server allows a ConfigMap (1048576 bytes). */
export const HISTORY_MAX_BYTES = 900 * 1024;

const bytes = (text: string): number => Buffer.byteLength(text, "utf8");

/** What storing a record in the history cost, when it could not keep everything. */
export interface StoredHistory {
  /** Older records dropped so the rest fits (those beyond historyLimit are not counted: that is the limit). */
  droppedForSize: number;
  /** The stored copy of the new record leaves out its per-check detail: alone, it did not fit. */
  detailLeftOut: boolean;
}

/** A record's stored copy without its per-check detail: passing smoke checks and metric evaluations first, then more. */
function compacted(r: ReleaseRecord, level: 1 | 2): ReleaseRecord {
  const cut = (text: string | undefined, n: number) => (text && text.length > n ? `${text.slice(0, n)}…` : text);
  const steps = r.steps.map((st) => {
    const { analysis: _analysis, ...rest } = st;
    if (level === 1) return { ...rest, smoke: st.smoke.map((sm) => ({ ...sm, checks: sm.checks.filter((c) => !c.ok) })) };
    const { observedSplit: _split, ...bare } = rest;
    return { ...bare, smoke: [], ...(st.detail ? { detail: cut(st.detail, 500) } : {}) };
  });
  if (level === 1) return { ...r, steps };
  return {
    ...r,
    steps,
    ...(r.rollbackReason ? { rollbackReason: cut(r.rollbackReason, 2000) } : {}),
    ...(r.finalState ? { finalState: cut(r.finalState, 2000) } : {}),
  };
}

/**
 * `record` and as many of the `older` records (newest first, at most `limit` in all) as fit in `budget` bytes of JSON;
 * an older record goes before a newer one. The newest is always kept: when it alone does not fit, its stored copy
 * leaves out the per-check detail. A record that had to give anything up says so (historyTrimmed).
 */
export function fitRecords(
  record: ReleaseRecord,
  older: ReleaseRecord[],
  limit: number,
  budget: number,
): StoredHistory & { records: ReleaseRecord[] } {
  const { historyTrimmed: _earlier, ...newest } = record;
  const candidates = older.slice(0, Math.max(0, limit - 1));
  // Room for the note on the newest record, whatever it will say.
  const note = bytes(JSON.stringify({ historyTrimmed: { olderDropped: candidates.length, detailLeftOut: true } }));
  let stored: ReleaseRecord = newest;
  let detailLeftOut = false;
  for (const level of [1, 2] as const) {
    if (bytes(JSON.stringify(stored)) + note + 2 <= budget) break;
    stored = compacted(newest, level);
    detailLeftOut = true;
  }
  let total = bytes(JSON.stringify(stored)) + note + 2;
  let kept = 0;
  for (const r of candidates) {
    total += bytes(JSON.stringify(r)) + 1;
    if (total > budget) break;
    kept++;
  }
  const droppedForSize = candidates.length - kept;
  const trimmed = droppedForSize > 0 || detailLeftOut;
  const head: ReleaseRecord = trimmed
    ? { ...stored, historyTrimmed: { olderDropped: droppedForSize, ...(detailLeftOut ? { detailLeftOut: true as const } : {}) } }
    : stored;
  return { records: [head, ...candidates.slice(0, kept)], droppedForSize, detailLeftOut };
}

/** What a stored record must hold to be shown and kept; unknown fields (a newer version's) are kept. */
export const storedRecordSchema = z.looseObject({
  id: z.string().min(1),
  command: z.string(),
  namespace: z.string(),
  tag: z.string(),
  triggeredBy: z.string(),
  startedAt: z.string(),
  outcome: z.enum(["succeeded", "rolled-back", "rollback-failed", "no-change"]),
  services: z.array(z.looseObject({ name: z.string(), previousImage: z.string(), newImage: z.string() })),
  steps: z.array(z.looseObject({ name: z.string(), result: z.string() })),
});

/** The history as read: the records that are records, and what is wrong with the rest. */
export interface History {
  records: ReleaseRecord[];
  /** records.json could not be read whole (not JSON, not a list, entries that are not records): why. */
  unreadable?: string;
  /** What `unreadable` covers, kept as it was, to move aside: the whole text, or the entries that are not records. */
  damaged?: string;
  /** Keys where earlier damaged content was moved aside. */
  asideKeys: string[];
}

/** Validate records.json: never throws, whatever the text. */
export function parseHistory(text: string | undefined): Omit<History, "asideKeys"> {
  if (text === undefined || text.trim() === "") return { records: [] };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { records: [], unreadable: `${KEY} is not JSON (${(err as Error).message})`, damaged: text };
  }
  if (!Array.isArray(json)) {
    return { records: [], unreadable: `${KEY} is not a list of records (it is ${json === null ? "null" : typeof json})`, damaged: text };
  }
  const records: ReleaseRecord[] = [];
  const bad: Array<{ index: number; entry: unknown; why: string }> = [];
  json.forEach((entry, index) => {
    const checked = storedRecordSchema.safeParse(entry);
    if (checked.success) records.push(entry as ReleaseRecord);
    else {
      const first = checked.error.issues[0];
      bad.push({ index, entry, why: `${first?.path.join(".") || "(the entry)"}: ${first?.message ?? "invalid"}` });
    }
  });
  if (!bad.length) return { records };
  return {
    records,
    unreadable:
      `${bad.length} of the ${json.length} entries of ${KEY} are not release records ` +
      `(${bad
        .slice(0, 3)
        .map((b) => `entry ${b.index}: ${b.why}`)
        .join("; ")}${bad.length > 3 ? "; …" : ""})`,
    damaged: JSON.stringify(bad.map((b) => b.entry)),
  };
}

function historyOf(data: Record<string, string> | undefined): History {
  return { ...parseHistory(data?.[KEY]), asideKeys: Object.keys(data ?? {}).filter((k) => k.startsWith(ASIDE_PREFIX)) };
}

/** The history with what is wrong with it; an empty one when the ConfigMap does not exist. */
export async function inspectHistory(kube: Kube, namespace: string): Promise<History> {
  const cm = await ifExists(() => kube.core.readNamespacedConfigMap({ name: HISTORY_CONFIGMAP, namespace }));
  return historyOf(cm?.data);
}

/** The records that are records, newest first. */
export async function readHistory(kube: Kube, namespace: string): Promise<ReleaseRecord[]> {
  return (await inspectHistory(kube, namespace)).records;
}

/** Where content set aside in the history is moved when it crowds the records out: a ConfigMap of its own. */
export function asideConfigMapName(key: string): string {
  const stamp = key
    .slice(ASIDE_PREFIX.length)
    .replace(/\.json$/, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-");
  return `${HISTORY_CONFIGMAP}-unreadable-${stamp}`.replace(/-+$/, "");
}

/** The key damaged content is moved aside to: its time, so each incident keeps its own. */
export function asideKey(now = new Date()): string {
  return `${ASIDE_PREFIX}${now.toISOString().replace(/[:.]/g, "")}.json`;
}

/**
 * Add `record` (replacing one of the same id), keeping the newest `limit` that fit in HISTORY_MAX_BYTES (fitRecords;
 * `record.historyTrimmed` then says what was given up). Damaged content found in records.json is moved aside to a key
 * of its own first, and `onMovedAside` says so; recording goes on.
 */
export async function appendHistory(
  kube: Kube,
  namespace: string,
  record: ReleaseRecord,
  limit: number,
  onMovedAside?: (message: string) => void,
): Promise<StoredHistory> {
  const stored = await pRetry(
    async () => {
      try {
        let cm;
        try {
          cm = await kube.core.readNamespacedConfigMap({ name: HISTORY_CONFIGMAP, namespace });
        } catch (err) {
          if (!isNotFound(err)) throw err;
          const fitted = fitRecords(record, [], limit, HISTORY_MAX_BYTES);
          await kube.core.createNamespacedConfigMap({
            namespace,
            body: {
              metadata: { name: HISTORY_CONFIGMAP, namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY } },
              data: { [KEY]: JSON.stringify(fitted.records) },
            },
          });
          return fitted;
        }
        const found = historyOf(cm.data);
        const aside = found.damaged !== undefined ? asideKey() : undefined;
        const records = found.records.filter((r) => r.id !== record.id);
        const others: Record<string, string> = { ...cm.data, ...(aside ? { [aside]: found.damaged! } : {}) };
        delete others[KEY];
        // Content set aside may take at most half the room; beyond that the oldest goes, whole and unchanged, to a
        // ConfigMap of its own, so the records always fit and a store never fails for what damage left behind.
        const moved: string[] = [];
        const asideBytes = () => Object.values(others).reduce((n, v) => n + bytes(v), 0);
        for (const key of Object.keys(others)
          .filter((k) => k.startsWith(ASIDE_PREFIX))
          .sort()) {
          if (asideBytes() <= HISTORY_MAX_BYTES / 2) break;
          const name = asideConfigMapName(key);
          await kube.core
            .createNamespacedConfigMap({
              namespace,
              body: { metadata: { name, namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY } }, data: { [key]: others[key]! } },
            })
            .catch((err: unknown) => {
              // 409 to a create is AlreadyExists: an earlier attempt, whose history write lost its compare-and-swap, made it.
              if (!isConflict(err)) throw err;
            });
          delete others[key];
          moved.push(`key ${key} to ConfigMap ${namespace}/${name}`);
        }
        // What the other keys (content moved aside) take is not the records' to use.
        const room = HISTORY_MAX_BYTES - asideBytes();
        const fitted = fitRecords(record, records, limit, room);
        cm.data = { ...others, [KEY]: JSON.stringify(fitted.records) };
        await kube.core.replaceNamespacedConfigMap({ name: HISTORY_CONFIGMAP, namespace, body: cm });
        if (moved.length) {
          onMovedAside?.(
            `ConfigMap ${namespace}/${HISTORY_CONFIGMAP}: content set aside earlier left too little room for the records, ` +
              `so it was moved, unchanged: ${moved.join("; ")}`,
          );
        }
        if (aside) {
          onMovedAside?.(
            `ConfigMap ${namespace}/${HISTORY_CONFIGMAP}: ${found.unreadable}; that content was moved aside, unchanged, to key ${aside}, ` +
              `and the history goes on from the ${records.length} readable record(s)`,
          );
        }
        return fitted;
      } catch (err) {
        // Only a lost compare-and-swap is worth another go; everything else is the caller's to report.
        if (isConflict(err)) throw err;
        throw new AbortError(err as Error);
      }
    },
    { retries: 5, minTimeout: 50, maxTimeout: 500 },
  );
  // The caller's record (printed, --json) says what its stored copy says.
  if (stored.records[0]?.historyTrimmed) record.historyTrimmed = stored.records[0].historyTrimmed;
  else delete record.historyTrimmed;
  return { droppedForSize: stored.droppedForSize, detailLeftOut: stored.detailLeftOut };
}
