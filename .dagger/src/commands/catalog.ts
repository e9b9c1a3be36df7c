/**
 * What the CLI offers, known without loading any command: each command's name, one-line summary and module, the
 * version and the top-level help. cli.ts loads only the module of the command a command line names; the others
 * appear in `--help` and in "did you mean …?" from this table alone, so `release-gate --help` never loads the
 * Kubernetes client (most of a second) and `release-gate smoke` loads only what a smoke run uses.
 */
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { examples } from "./common.ts";

export interface CommandModule {
  /** Adds the command (its options, help and action) to the program. */
  register(program: Command): void;
}

export interface CatalogEntry {
  /** The line `release-gate --help` shows for the command. */
  summary: string;
  load: () => Promise<CommandModule>;
}

// ---- Command registrations: one entry per commands/<name>.ts module, in the order --help lists them; append here. ----
export const commandCatalog: Record<string, CatalogEntry> = {
  smoke: { summary: "is it up? run the smoke suite against a URL", load: () => import("./smoke.ts") },
  plan: { summary: "what deploy would do and its worst case; changes nothing", load: () => import("./plan.ts") },
  deploy: { summary: "release an image through the canary phases, then promote", load: () => import("./deploy.ts") },
  canary: { summary: "one canary step at a weight; the release stays in flight", load: () => import("./canary.ts") },
  promote: { summary: "promote a canary that passed at 100 % to stable", load: () => import("./promote.ts") },
  rollback: { summary: "from any state back to a healthy stable", load: () => import("./rollback.ts") },
  undo: { summary: "take back the last release: release what ran before it", load: () => import("./undo.ts") },
  status: { summary: "what runs now: images, weights, lock, release in flight", load: () => import("./status.ts") },
  history: { summary: "the recorded releases, newest first", load: () => import("./history.ts") },
  approvals: { summary: "check a GitHub run against the two-person rule", load: () => import("./approvals.ts") },
  "github-environments": {
    summary: "check or apply the GitHub environments release.yaml names",
    load: () => import("./github-environments.ts"),
  },
  notify: { summary: "tell the job summary and Slack how a release ended", load: () => import("./notify.ts") },
  "eks-token": { summary: "print an EKS bearer token as a kubectl ExecCredential", load: () => import("./eks-token.ts") },
};
// ---- end of command registrations ----

/** The version in the package.json next to the sources (the repository's, also copied into the toolbox image). */
export function programVersion(): string {
  try {
    return String(JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")).version ?? "unknown");
  } catch {
    return "unknown";
  }
}

/** After the command list in `release-gate --help`. */
export const programHelp = [
  examples(
    ["smoke --url https://app.qualisys.io", "is it up? (token from $SMOKE_TEST_TOKEN)"],
    ["plan --tag 1.4.2", "the steps of a release and their worst case; changes nothing"],
    ["deploy --tag 1.4.2", "10 % → 50 % → 100 %, smoke tests after each, then promote"],
    ["status", "what runs now, the lock, anything in flight"],
    ['rollback --reason "errors on checkout"', "back to a healthy stable, from any state"],
    ['undo --reason "errors since 1.4.2"', "take back the release that finished: what ran before it, same phases"],
    ["deploy --help", "every option of a command, with examples"],
  ),
  "",
  "Environment:",
  "  KUBECONFIG                the cluster's kubeconfig file (--kubeconfig FILE wins, then RELEASE_GATE_KUBECONFIG: kubeconfig text)",
  "  SMOKE_TEST_TOKEN          bearer token for authenticated smoke checks (another variable: --token-env NAME)",
  "  RELEASE_GATE_RESOLVE      reach public URLs at another address, keeping their Host: host=URL,… (e.g. *=http://127.0.0.1:8080)",
  "  RELEASE_GATE_APPROVERS    local runs only: who approved, recorded as self-reported (in Actions, approvals come from GitHub)",
  "  GITHUB_TOKEN              deploy in Actions (or with --github-run): reads the run's approvals; approvals, github-environments",
  "",
  "Exit codes: 0 success, 1 failed (a release rolled back), 2 refused: bad input, nothing was changed.",
  "Documentation: docs/cli.md; release.yaml fields: kubernetes/production/README.md.",
].join("\n");
