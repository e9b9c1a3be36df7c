/** The `approvals:` section of release.yaml, required by every GitHub command. */
import { loadReleaseConfig } from "../config/load.ts";
import type { ApprovalsConfig } from "../config/schema.ts";
import { UsageError } from "../errors.ts";

export async function loadApprovals(path: string | undefined): Promise<ApprovalsConfig> {
  const { config, path: absolute } = await loadReleaseConfig(path);
  if (!config.approvals) {
    throw new UsageError(
      `${absolute} has no approvals: section, so there is no two-person rule to check: ` +
        `add one naming each GitHub environment and its reviewers (see docs/approvals.md)`,
    );
  }
  return config.approvals;
}
