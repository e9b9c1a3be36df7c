/**
 * `npm run sim -- [--port N] [--edge-port N] [--kubeconfig PATH] [--scenario FILE] [--namespace NS] [--verbose]`:
 * start the simulator, print where it listens, run until SIGINT/SIGTERM or until its parent process goes away,
 * then stop cleanly.
 *
 * Under `npm run` the process tree is npm → sh -c → node. Ctrl-C signals the whole process group and stops it.
 * A signal sent to npm alone is forwarded to `sh`, not to node: SIGTERM kills `sh` (and npm exits), which would
 * leave this process orphaned — hence the parent watch below; SIGINT is caught by the waiting `sh`, which keeps
 * waiting, so `kill -INT <npm pid>` stops nothing (use `kill -INT -- -<pgid>` or `kill <npm pid>`). A package.json
 * script of `exec node test/sim/main.ts` would let npm's forwarded signals reach node directly.
 */
import { Command, InvalidArgumentError } from "commander";
import { startSim } from "./index.ts";

const port = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError("must be a port number (0-65535)");
  return n;
};

/** A word quoted for a POSIX shell: paths may hold spaces, and RELEASE_GATE_RESOLVE's `*` must not be globbed. */
const shellQuote = (word: string): string => `'${word.replaceAll("'", `'\\''`)}'`;

/**
 * What a user pastes into another shell (in the repository) to drive release-gate against this simulator: the
 * cluster is the simulator's API (KUBECONFIG), the public URLs of release.yaml (app.qualisys.io, api.qualisys.io)
 * are reached at its traffic edge with their Host header kept (RELEASE_GATE_RESOLVE), and the simulated app
 * accepts any bearer token. test/commands/sim-exports.test.ts runs these lines, then the bin.
 */
function driveInstructions(kubeconfigPath: string, edgeUrl: string): string[] {
  return [
    "Drive release-gate against it from another shell, in this repository (the cluster is SIMULATED):",
    `  export KUBECONFIG=${shellQuote(kubeconfigPath)}`,
    `  export RELEASE_GATE_RESOLVE=${shellQuote(`*=${edgeUrl}`)}`,
    `  export SMOKE_TEST_TOKEN=${shellQuote("sim-token")}`,
    "  kubectl apply -k kubernetes/production",
    "  npx --no -- release-gate plan --tag 1.1.0",
    "  npx --no -- release-gate deploy --tag 1.1.0     # 10 → 50 → 100 % with release.yaml's windows: about 4 minutes",
    "  npx --no -- release-gate status",
  ];
}

const program = new Command()
  .name("npm run sim --")
  .description("Run the Kubernetes simulator: API server, controllers, kubelet and traffic edge on 127.0.0.1")
  .option("--port <n>", "API server port (default: any free port)", port)
  .option("--edge-port <n>", "traffic edge port (default: any free port)", port)
  .option("--kubeconfig <path>", "write the kubeconfig here (default: a temporary file)")
  .option("--scenario <file>", "scenario file (YAML or JSON), see test/sim/README.md")
  .option("--namespace <ns>", "namespace of the kubeconfig's context")
  .option("--verbose", "log API requests and controller errors to stderr")
  .parse();

const opts = program.opts<{
  port?: number;
  edgePort?: number;
  kubeconfig?: string;
  scenario?: string;
  namespace?: string;
  verbose?: boolean;
}>();

// Read before anything else: a parent that dies while the simulator starts (SIGTERM to npm right after the banner)
// must still be noticed, which a read made after the banner would miss on a loaded machine.
const parent = process.ppid;

try {
  const sim = await startSim({
    port: opts.port,
    edgePort: opts.edgePort,
    kubeconfigPath: opts.kubeconfig,
    scenario: opts.scenario,
    namespace: opts.namespace,
    log: opts.verbose ? (line) => process.stderr.write(line + "\n") : undefined,
  });
  process.stdout.write(
    [
      `API server:  ${sim.apiUrl}`,
      `Traffic edge: ${sim.edgeUrl}${sim.scenario.edge.defaultHost ? ` (default host ${sim.scenario.edge.defaultHost})` : ""}`,
      `Kubeconfig:  ${sim.kubeconfigPath}`,
      `Time scale:  1 simulated second = ${sim.clock.msPerSecond} ms`,
      "",
      ...driveInstructions(sim.kubeconfigPath, sim.edgeUrl),
      "",
      "Ctrl-C to stop.",
      "",
    ].join("\n"),
  );
  let stopping = false;
  process.stdout.on("error", () => {}); // after the parent went away stdout may be a broken pipe: stop anyway
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${signal}: stopping the simulator\n`);
    sim.stop().then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`error while stopping: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGHUP", () => stop("SIGHUP")); // the terminal closed
  // Re-parenting (to init or a subreaper) means whoever started us is gone: nobody is left to stop us.
  setInterval(() => {
    if (process.ppid !== parent) stop("parent process exited");
  }, 500).unref();
} catch (err) {
  process.stderr.write(`sim: ${(err as Error).message}\n`);
  process.exit(2);
}
