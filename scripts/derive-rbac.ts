/**
 * npm run rbac:derive: rebuild kubernetes/production/rbac.yaml from what the pipeline really asks for. Runs the
 * scenario suites (they run as the deployer group, on the simulator that enforces RBAC) with every authorization
 * decision recorded, then prints the fewest rules that allow those requests, the requests the current rbac.yaml
 * refused, and its grants nothing used. Paste the rules into rbac.yaml (keep its comments), then run
 * `npx vitest run test/kubernetes/rbac.test.ts`.
 *
 * To derive from the current Role's refusals as well as its excesses, temporarily give the Role `*` (apiGroups,
 * resources, verbs), run this, and replace the rules with what it prints.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { stringify } from "yaml";
import {
  describeGrant,
  describeRequest,
  grantsOf,
  minimalRules,
  unusedGrants,
  type RecordedRequest,
} from "../test/kubernetes/rbac-rules.ts";

const SUITES = ["test/pipeline", "test/commands", "test/github", "test/kubernetes/rbac.test.ts"];

const dir = await mkdtemp(join(tmpdir(), "release-gate-rbac-"));
const record = join(dir, "requests.jsonl");
try {
  process.stderr.write(`running ${SUITES.join(", ")} with every request the deployer makes recorded (a few minutes)…\n`);
  const run = await execa("npx", ["vitest", "run", ...SUITES], {
    env: { RELEASE_GATE_RBAC_RECORD: record },
    reject: false,
    stdout: "ignore",
    stderr: "inherit",
  });
  if (run.exitCode !== 0) process.stderr.write(`(the suites exited ${run.exitCode}: a refused request fails a scenario; see below)\n`);
  const requests = (await readFile(record, "utf8").catch(() => ""))
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as RecordedRequest);
  const byNamespace = new Map<string, RecordedRequest[]>();
  for (const r of requests) byNamespace.set(r.namespace ?? "(cluster)", [...(byNamespace.get(r.namespace ?? "(cluster)") ?? []), r]);
  for (const [ns, rs] of byNamespace) {
    console.log(`# ${ns === "(cluster)" ? "ClusterRole (cluster-scoped)" : `Role in ${ns}`}: ${rs.length} requests`);
    console.log(stringify({ rules: minimalRules(rs) }));
  }
  const refused = [...new Set(requests.filter((r) => !r.allowed).map(describeRequest))];
  console.log(`# refused by the current rbac.yaml: ${refused.length ? "\n" + refused.map((r) => `#   ${r}`).join("\n") : "none"}`);
  const unused = unusedGrants(grantsOf(await readFile("kubernetes/production/rbac.yaml", "utf8")), requests).map(describeGrant);
  console.log(`# granted by rbac.yaml but never used: ${unused.length ? "\n" + unused.map((g) => `#   ${g}`).join("\n") : "none"}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
