/**
 * Ending a run: the final state read back from the cluster, the record stored (history ConfigMap, Events on
 * the stable Deployments) and returned for the Markdown summary / JSON. Storing is best effort: a record that
 * cannot be written is reported, never a reason to leave production half-released.
 */
import { appendHistory } from "../audit/history.ts";
import { emitEvent } from "../audit/events.ts";
import type { ReleaseRecord } from "../audit/record.ts";
import { containerImage } from "../kube/deployments.ts";
import type { Release } from "./context.ts";

export async function finalizeRecord(rel: Release, record: ReleaseRecord): Promise<ReleaseRecord> {
  const { kube, config, progress } = rel.env;
  const ns = config.namespace;
  record.finishedAt = new Date().toISOString();
  record.durationMs = Date.parse(record.finishedAt) - Date.parse(record.startedAt);
  try {
    record.finalWeights = await Promise.all(rel.routers.map((r) => r.getWeight()));
    for (const s of record.services) {
      const svc = rel.state.services.find((x) => x.name === s.name)!;
      const [stable, canary] = await Promise.all([
        kube.apps.readNamespacedDeployment({ name: svc.stableDeployment, namespace: ns }),
        kube.apps.readNamespacedDeployment({ name: svc.canaryDeployment, namespace: ns }),
      ]);
      s.finalImage = containerImage(stable, svc.container);
      s.finalStableReplicas = stable.status?.availableReplicas ?? 0;
      s.finalCanaryReplicas = canary.spec?.replicas ?? 0;
    }
    record.finalState = record.services
      .map((s) => `${s.name}: stable ${s.finalImage} (${s.finalStableReplicas} available), canary ${s.finalCanaryReplicas} replicas`)
      .concat(`canary weight ${record.finalWeights.join("/")}`)
      .join("; ");
  } catch (err) {
    record.finalState = `could not read the final state: ${(err as Error).message}`;
  }
  try {
    await appendHistory(kube, ns, record, config.historyLimit);
  } catch (err) {
    progress.warn(`could not store the release record in ConfigMap release-gate-history: ${(err as Error).message}`);
  }
  const type = record.outcome === "succeeded" || record.outcome === "no-change" ? "Normal" : "Warning";
  const reason = {
    succeeded: "ReleaseSucceeded",
    "rolled-back": "ReleaseRolledBack",
    "rollback-failed": "RollbackFailed",
    "no-change": "ReleaseNoChange",
  }[record.outcome];
  const message = `release-gate ${record.command} ${record.tag} by ${record.triggeredBy}: ${record.outcome}${record.rollbackReason ? ` (${record.rollbackReason})` : ""}`;
  await Promise.all(
    rel.state.services.map((s) =>
      emitEvent(kube, ns, { deployment: s.stableDeployment, type, reason, message }).catch((err: Error) =>
        progress.warn(`could not emit an Event on ${s.stableDeployment}: ${err.message}`),
      ),
    ),
  );
  return record;
}
