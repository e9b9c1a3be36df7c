/**
 * `node bin/rehearsal.js SETTINGS.json`: the rehearsal inside the toolbox, as `dagger call rehearse` runs it. It
 * wires the story to the real kind and docker commands, the API server through the host service, and the real
 * `release-gate deploy`; prints the timeline on stdout and progress on stderr, and ends with one verdict line.
 * Exit codes: 0 the story went as a release should, 1 it did not, 2 refused (nothing changed).
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { formatDuration } from "../config/duration.ts";
import { exitCodeOf } from "../errors.ts";
import { kubeFromConfig } from "../kube/client.ts";
import { kindCli } from "./kind-cli.ts";
import { cliClusterEnv, kubeApiRoute, reachKind } from "./kube-api.ts";
import { readRehearsalSettings } from "./settings.ts";
import { runStory, type CliRun } from "./story.ts";
import { renderTimeline } from "./timeline.ts";

const CLI = fileURLToPath(new URL("../../../bin/release-gate.js", import.meta.url));
/** The demo app accepts any bearer token; this one only has to be there. Not a secret. */
const DEMO_TOKEN = "rehearsal-demo-token";

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const started = Date.now();
  const log = (line: string) => process.stderr.write(`[${formatDuration(Date.now() - started).padStart(6)}] rehearsal · ${line}\n`);
  try {
    if (!argv[2]) throw Object.assign(new Error("usage: rehearsal.js SETTINGS.json"), { exitCode: 2 });
    const set = await readRehearsalSettings(argv[2]);
    const route = kubeApiRoute(env);
    // kind writes the clusters it creates into KUBECONFIG: a file of its own, never one a user has.
    const kindHome = await mkdtemp(join(tmpdir(), "release-gate-kind-"));
    const kindEnv = {
      PATH: env.PATH ?? "",
      HOME: kindHome,
      KUBECONFIG: join(kindHome, "kubeconfig"),
      ...(env.DOCKER_HOST ? { DOCKER_HOST: env.DOCKER_HOST } : {}),
    };
    const deploy = async (tag: string, configPath: string, kubeconfig: string): Promise<CliRun> => {
      const r = await execa(process.execPath, [CLI, "deploy", "--tag", tag, "--config", configPath, "--json"], {
        reject: false,
        extendEnv: false,
        env: {
          PATH: env.PATH ?? "",
          HOME: kindHome,
          USER: "release-gate-rehearsal",
          AWS_EC2_METADATA_DISABLED: "true",
          ...cliClusterEnv(kubeconfig, route),
          // The public URLs (*.localhost) are reached through the edge, with their own Host header.
          RELEASE_GATE_RESOLVE: `*=http://${set.edge.host}:${set.edge.port}`,
          SMOKE_TEST_TOKEN: DEMO_TOKEN,
        },
        stdin: "ignore",
        // The CLI's progress shows live; its record (stdout) and verdict (stderr) are kept for the timeline.
        stderr: ["pipe", "inherit"],
      });
      return { exitCode: r.exitCode ?? 1, stdout: String(r.stdout), stderr: String(r.stderr) };
    };
    const result = await runStory(set, {
      kind: kindCli({ env: kindEnv, log }),
      route,
      connect: (text) => kubeFromConfig(reachKind(text, route)),
      deploy,
      log,
    });
    process.stdout.write(renderTimeline(result));
    const where = set.deleteCluster
      ? "the kind cluster was deleted"
      : `the kind cluster ${set.cluster} is kept (kubectl --context kind-${set.cluster})`;
    if (result.problems.length) {
      process.stderr.write(`release-gate: rehearsal failed: ${result.problems.join("; ")}; ${where}\n`);
      return 1;
    }
    process.stderr.write(
      `release-gate: rehearsal passed: ${set.versions.good} promoted, ${set.versions.bad} rolled back by itself (${set.failure}); ${where}\n`,
    );
    return 0;
  } catch (err) {
    process.stderr.write(`release-gate: ${(err as Error).message}\n`);
    return (err as { exitCode?: number }).exitCode === 2 ? 2 : exitCodeOf(err);
  }
}
