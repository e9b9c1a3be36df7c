/** Suite files: YAML or JSON, validated with precise errors; a service's own suite runs like the default one. */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { UsageError } from "#src/errors.ts";
import { loadSuite, parseSuite, qualisysSuite, qualisysSuiteData, runSmokeSuite } from "#src/smoke/index.ts";
import { html, json, startApp, type TestApp } from "../support/smoke-app.ts";

let dir: string;
const apps: TestApp[] = [];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "rg-suite-"));
});
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

async function file(name: string, text: string) {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

const billingYaml = `
name: billing
checks:
  - name: ping
    path: /ping
    expect:
      bodyContains: pong
  - name: version
    path: /version
    headers: { Accept: application/json }
    expect:
      status: [200, 203]
      json:
        - { path: build.sha, notNull: true }
tls: { enabled: false }
`;

describe("loadSuite", () => {
  it("reads YAML and fills defaults (GET, status 200, no auth)", async () => {
    const suite = await loadSuite(await file("billing.yaml", billingYaml));
    expect(suite.name).toBe("billing");
    expect(suite.checks[0]).toEqual({
      name: "ping",
      path: "/ping",
      method: "GET",
      headers: {},
      auth: "none",
      expect: { status: 200, bodyContains: "pong", json: [] },
    });
    expect(suite.tls).toEqual({ enabled: false, minDaysValid: 14 });
  });

  it("the built-in suite, written out with its defaults, is exactly what its data parses to", () => {
    expect(parseSuite(qualisysSuiteData, "built in")).toStrictEqual(qualisysSuite);
  });

  it("reads JSON: the default suite written to a file loads back as the same suite", async () => {
    expect(await loadSuite(await file("qualisys.json", JSON.stringify(qualisysSuiteData)))).toEqual(qualisysSuite);
  });

  it("refuses a missing file with a UsageError naming the path", async () => {
    const missing = join(dir, "nope.yaml");
    await expect(loadSuite(missing)).rejects.toThrow(`cannot read suite file ${missing} (ENOENT): check the path given to --suite`);
    await expect(loadSuite(missing)).rejects.toBeInstanceOf(UsageError);
  });

  it("refuses text that is not YAML", async () => {
    await expect(loadSuite(await file("bad.yaml", "name: [unclosed"))).rejects.toThrow(/is not valid YAML or JSON/);
  });

  it.each([
    [
      "a check with two kinds of JSON expectation",
      "name: x\nchecks:\n  - name: a\n    path: /a\n    expect: { json: [{ path: id, notNull: true, equals: 1 }] }",
      /at checks\.0\.expect\.json\.0: give exactly one of equals, notNull or everyEntryEquals/,
    ],
    ["a path without a leading slash", "name: x\nchecks:\n  - name: a\n    path: api", /at checks\.0\.path: a path starting with \//],
    [
      "an unknown field (a typo must not pass silently)",
      "name: x\nchecks:\n  - name: a\n    path: /a\n    expct: {}",
      /at checks\.0: Unrecognized key: "expct"/,
    ],
    ["duplicate names", "name: x\nchecks:\n  - { name: a, path: /a }\n  - { name: a, path: /b }", /check names must be unique/],
    ["the reserved name tls", "name: x\nchecks:\n  - { name: tls, path: /a }", /"tls" is reserved/],
    ["no checks", "name: x\nchecks: []", /at checks: /],
  ])("refuses %s", async (_what, text, message) => {
    await expect(loadSuite(await file("invalid.yaml", text))).rejects.toThrow(message);
  });
});

describe("a service's own suite", () => {
  it("runs its checks instead of the default ones", async () => {
    const a = await startApp({ "/ping": html(200, "pong"), "/version": json(203, { build: { sha: "abc123" } }) });
    apps.push(a);
    const report = await runSmokeSuite({ baseUrl: a.url, suite: await loadSuite(await file("billing.yaml", billingYaml)) });
    expect(report).toMatchObject({ ok: true, suite: "billing" });
    expect(report.checks.map((c) => [c.name, c.status])).toEqual([
      ["ping", 200],
      ["version", 203],
    ]);
    expect(a.seen.find((s) => s.path === "/version")?.headers.accept).toBe("application/json");
  });
});
