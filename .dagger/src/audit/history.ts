/**
 * Bounded release history in the cluster: a ConfigMap whose `records.json` holds the newest N records, newest
 * first. Written with the object's resourceVersion, so two writers cannot lose each other's record.
 */
import pRetry, { AbortError } from "p-retry";
import type { Kube } from "../kube/client.ts";
import { isConflict, isNotFound } from "../kube/api-errors.ts";
import { MANAGED_BY, MANAGED_BY_LABEL } from "../kube/labels.ts";
import type { ReleaseRecord } from "./record.ts";

export const HISTORY_CONFIGMAP = "release-gate-history";
const KEY = "records.json";

export async function readHistory(kube: Kube, namespace: string): Promise<ReleaseRecord[]> {
  try {
    const cm = await kube.core.readNamespacedConfigMap({ name: HISTORY_CONFIGMAP, namespace });
    return JSON.parse(cm.data?.[KEY] ?? "[]") as ReleaseRecord[];
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}

export async function appendHistory(kube: Kube, namespace: string, record: ReleaseRecord, limit: number): Promise<void> {
  await pRetry(
    async () => {
      try {
        let cm;
        try {
          cm = await kube.core.readNamespacedConfigMap({ name: HISTORY_CONFIGMAP, namespace });
        } catch (err) {
          if (!isNotFound(err)) throw err;
          await kube.core.createNamespacedConfigMap({
            namespace,
            body: {
              metadata: { name: HISTORY_CONFIGMAP, namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY } },
              data: { [KEY]: JSON.stringify([record]) },
            },
          });
          return;
        }
        const records = (JSON.parse(cm.data?.[KEY] ?? "[]") as ReleaseRecord[]).filter((r) => r.id !== record.id);
        cm.data = { ...cm.data, [KEY]: JSON.stringify([record, ...records].slice(0, limit)) };
        await kube.core.replaceNamespacedConfigMap({ name: HISTORY_CONFIGMAP, namespace, body: cm });
      } catch (err) {
        // Only a lost compare-and-swap is worth another go; everything else is the caller's to report.
        if (isConflict(err)) throw err;
        throw new AbortError(err as Error);
      }
    },
    { retries: 5, minTimeout: 50, maxTimeout: 500 },
  );
}
