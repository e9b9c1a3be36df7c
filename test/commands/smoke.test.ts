/** `release-gate smoke` end to end: the real bin against real servers, real exit codes, real output. */
import { writeFile, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CLOSED_PORT, hang, healthyRoutes, json, startApp, type Route, type TestApp } from "../support/smoke-app.ts";
import { makePki, type TestPki } from "../support/certs.ts";
import { releaseGate } from "../support/run-cli.ts";

const TOKEN = "cli-secret-8d1e77-must-not-leak";
const apps: TestApp[] = [];
let pki: TestPki;
let dir: string;

beforeAll(async () => {
  pki = await makePki();
  dir = await mkdtemp(join(tmpdir(), "rg-cli-"));
});
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

async function app(overrides: Record<string, Route> = {}, tls?: keyof Omit<TestPki, "ca">) {
  const a = await startApp({ ...healthyRoutes(TOKEN), ...overrides }, tls ? pki[tls] : undefined);
  apps.push(a);
  return a;
}
const withToken = { SMOKE_TEST_TOKEN: TOKEN };

describe("release-gate smoke: verdicts", () => {
  it("exits 0 and prints the table when every check passes", async () => {
    const a = await app();
    const r = await releaseGate(["smoke", "--url", a.url], withToken);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^CHECK +RESULT +HTTP +LATENCY +REASON$/m);
    expect(r.stdout).toMatch(/^user-me +pass +200 +\d+ ms$/m);
    expect(r.stdout).toContain(`smoke qualisys against ${a.url}/: all 4 checks passed`);
    expect(r.stderr).toBe("");
  });

  it("exits 1 when a check fails, naming the check and the reason", async () => {
    const a = await app({ "/api/health": json(500, { status: "error" }) });
    const r = await releaseGate(["smoke", "--url", a.url], withToken);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^health +FAIL +500 +\d+ ms +expected HTTP 200, got 500$/m);
    expect(r.stderr).toBe(`release-gate: smoke failed: 1 of 4 checks failed (health) against ${a.url}/`);
  });

  it("--json prints a machine-readable report on stdout, and still exits 1 on failure", async () => {
    const a = await app({ "/login": hang });
    const r = await releaseGate(["smoke", "--url", a.url, "--json", "--timeout", "200"], withToken);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ ok: false, url: `${a.url}/`, suite: "qualisys", canary: false });
    expect(report.checks.find((c: { name: string }) => c.name === "login")).toMatchObject({
      ok: false,
      reason: "no response within 200 ms",
    });
  });

  it("exits 1 on connection refused", async () => {
    const r = await releaseGate(["smoke", "--url", `http://127.0.0.1:${CLOSED_PORT}`, "--retries", "0"], withToken);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("connection failed (ECONNREFUSED)");
  });

  it("trusts a CA given with --ca-file and fails a certificate expiring within 14 days", async () => {
    const caFile = join(dir, "ca.pem");
    await writeFile(caFile, pki.ca);
    const good = await app({}, "valid");
    expect((await releaseGate(["smoke", "--url", good.url, "--ca-file", caFile], withToken)).code).toBe(0);
    const soon = await app({}, "expiringSoon");
    const r = await releaseGate(["smoke", "--url", soon.url, "--ca-file", caFile], withToken);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^tls +FAIL +- +\d+ ms +certificate expires .* expected at least 14 days left$/m);
  });

  it("--canary sends X-Canary: always by default, or the configured header", async () => {
    const a = await app();
    expect((await releaseGate(["smoke", "--url", a.url, "--canary"], withToken)).code).toBe(0);
    expect(new Set(a.seen.map((s) => s.headers["x-canary"]))).toEqual(new Set(["always"]));
    const b = await app();
    await releaseGate(["smoke", "--url", b.url, "--canary", "--canary-header", "X-Route: canary"], withToken);
    expect(new Set(b.seen.map((s) => s.headers["x-route"]))).toEqual(new Set(["canary"]));
    expect(b.seen.some((s) => s.headers["x-canary"])).toBe(false);
  });

  it("reads the token from the variable named by --token-env", async () => {
    const a = await app();
    const r = await releaseGate(["smoke", "--url", a.url, "--token-env", "QA_TOKEN"], { QA_TOKEN: TOKEN });
    expect(r.code).toBe(0);
  });

  it("runs a suite file", async () => {
    const suite = join(dir, "svc.yaml");
    await writeFile(
      suite,
      "name: svc\nchecks:\n  - name: health\n    path: /api/health\n    expect: { json: [{ path: status, equals: ok }] }\n",
    );
    const a = await app();
    const r = await releaseGate(["smoke", "--url", a.url, "--suite", suite]);
    expect(r.code).toBe(0);
    expect(a.seen.map((s) => s.path)).toEqual(["/api/health"]);
  });
});

describe("release-gate smoke: the token never appears in any output", () => {
  it("not on success, on failure, in --json, nor when the service echoes it back", async () => {
    const echo: Route = (req, res) => json(200, { id: null, echoed: req.headers.authorization })(req, res);
    const a = await app({ "/api/v1/user/me": echo });
    const runs: Array<Awaited<ReturnType<typeof releaseGate>>> = await Promise.all([
      releaseGate(["smoke", "--url", a.url], withToken),
      releaseGate(["smoke", "--url", a.url, "--json"], withToken),
      releaseGate(["smoke", "--url", a.url, "--json", "--header", `X-Debug: ${TOKEN}`], withToken),
    ]);
    const suite = join(dir, "echo.yaml");
    await writeFile(
      suite,
      "name: echo\nchecks:\n  - name: echo\n    path: /api/v1/user/me\n    auth: bearer\n    expect: { json: [{ path: echoed, equals: nope }] }\n",
    );
    runs.push(await releaseGate(["smoke", "--url", a.url, "--suite", suite], withToken));
    runs.push(await releaseGate(["smoke", "--url", "not a url"], withToken));
    for (const r of runs) {
      expect(r.stdout + r.stderr).not.toContain(TOKEN);
    }
    expect(runs[3].stdout).toContain('got "Bearer [redacted]"');
    // The check really did send it: the service received the token.
    expect(a.seen.some((s) => s.headers.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });
});

describe("release-gate smoke: a long token cut short in a reason", () => {
  // 68 characters, so "Bearer <token>" quoted in a reason is cut short (60 characters at most).
  const LONG = "sk_live_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0U1v2W3x4Y5z6A7b8C9d0";
  const pieces = Array.from({ length: LONG.length - 3 }, (_, i) => LONG.slice(i, i + 4));

  it("leaves no piece of it in the table, --json, or stderr", async () => {
    const echo: Route = (req, res) =>
      json(200, {
        id: "u-1",
        echoed: req.headers.authorization,
        late: `request rejected from 10.0.0.7, got: ${req.headers.authorization}`,
      })(req, res);
    const a = await app({ "/api/v1/user/me": echo });
    const suite = join(dir, "echo-long.yaml");
    await writeFile(
      suite,
      "name: echo\nchecks:\n" +
        "  - name: echoed\n    path: /api/v1/user/me\n    auth: bearer\n    expect: { json: [{ path: echoed, equals: nope }] }\n" +
        "  - name: late\n    path: /api/v1/user/me\n    auth: bearer\n    expect: { json: [{ path: late, equals: nope }] }\n",
    );
    const env = { SMOKE_TEST_TOKEN: LONG };
    const runs = await Promise.all([
      releaseGate(["smoke", "--url", a.url, "--suite", suite], env),
      releaseGate(["smoke", "--url", a.url, "--suite", suite, "--json"], env),
    ]);
    expect(a.seen.some((s) => s.headers.authorization === `Bearer ${LONG}`)).toBe(true);
    for (const r of runs) {
      expect(r.code).toBe(1);
      for (const piece of pieces) expect(r.stdout + r.stderr).not.toContain(piece);
    }
    expect(runs[0].stdout).toContain('got "Bearer [redacted]"');
    expect(JSON.parse(runs[1].stdout).checks[0].reason).toBe('expected JSON echoed == "nope", got "Bearer [redacted]"');
  });
});

describe("release-gate smoke: a one-character token (SMOKE_TEST_TOKEN=t)", () => {
  it("is redacted where it stands as a word; the rest of the output and the --json document stay intact", async () => {
    const echo: Route = (req, res) => json(200, { id: null, echoed: req.headers.authorization })(req, res);
    const a = await startApp({ ...healthyRoutes("t"), "/api/health": json(500, { status: "error" }), "/api/v1/user/me": echo });
    apps.push(a);
    const env = { SMOKE_TEST_TOKEN: "t" };
    const [table, doc] = await Promise.all([
      releaseGate(["smoke", "--url", a.url], env),
      releaseGate(["smoke", "--url", a.url, "--json"], env),
    ]);
    expect(a.seen.some((s) => s.headers.authorization === "Bearer t")).toBe(true);
    expect(table.code).toBe(1);
    expect(table.stdout).toMatch(/^health +FAIL +500 +\d+ ms +expected HTTP 200, got 500$/m);
    expect(table.stdout).toMatch(/^user-me +FAIL +200 +\d+ ms +expected JSON id not null, got null$/m);
    expect(table.stdout + table.stderr).not.toContain("redac[");
    expect(table.stderr).toBe(`release-gate: smoke failed: 2 of 4 checks failed (health, user-me) against ${a.url}/`);
    const report = JSON.parse(doc.stdout);
    expect(report.ok).toBe(false);
    expect(report.checks.find((c: { name: string }) => c.name === "health").reason).toBe("expected HTTP 200, got 500");
  });
});

describe("release-gate smoke: the token over plain http", () => {
  it("is refused (exit 2, nothing sent) to anything but loopback, with the ways out", async () => {
    // .invalid never resolves: without the refusal this would be a failed check (exit 1), not a refusal.
    const r = await releaseGate(["smoke", "--url", "http://app.qualisys.invalid"], withToken);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'release-gate: refusing to send the bearer token of check "user-me" over plain http to app.qualisys.invalid: anyone on the way could read it; ' +
        "use https://, or skip the check with --skip user-me. Plain http carries the token only to loopback (localhost, 127.0.0.0/8, ::1); nothing was sent",
    );
    expect(r.stdout).toBe("");
  });
});

describe("release-gate smoke: bad usage or input exits 2 before any request", () => {
  let a: TestApp;
  beforeAll(async () => {
    a = await startApp(healthyRoutes(TOKEN));
  });
  afterAll(() => a.close());
  afterEach(() => {
    // Nothing was sent.
    expect(a.seen).toHaveLength(0);
  });

  it.each([
    [["smoke"], /^release-gate: required option '--url <url>' not specified/],
    [
      ["smoke", "--url", "app.qualisys.io"],
      /^release-gate: "app\.qualisys\.io" is not a valid URL: give an absolute URL such as https:\/\/app\.qualisys\.io$/,
    ],
    [["smoke", "--url", "ftp://127.0.0.1/"], /^release-gate: URL scheme ftp is not supported: use http:\/\/ or https:\/\/$/],
    [["smoke", "--url", "https://"], /^release-gate: "https:\/\/" is not a valid URL/],
    [
      ["smoke", "--url", "URL", "--timeout", "soon"],
      /^release-gate: option '--timeout <ms>' argument 'soon' is invalid\. expected an integer >= 1\./,
    ],
    [
      ["smoke", "--url", "URL", "--token-env", "eyJhbGciOi.pasted"],
      /^release-gate: --token-env takes the NAME of an environment variable \(letters, digits, _\), not its value$/,
    ],
    [
      ["smoke", "--url", "URL", "--suite", "/nonexistent/suite.yaml"],
      /^release-gate: cannot read suite file \/nonexistent\/suite\.yaml \(ENOENT\): check the path given to --suite$/,
    ],
    [
      ["smoke", "--url", "URL", "--skip", "typo"],
      /^release-gate: cannot skip "typo": suite qualisys has checks health, ready, login, user-me, tls$/,
    ],
    [["smoke", "--url", "URL", "--frobnicate"], /^release-gate: unknown option '--frobnicate'/],
    [["deploy-everything"], /^release-gate: unknown command 'deploy-everything'/],
  ])("%j", async (args, message) => {
    const r = await releaseGate(
      args.map((x) => (x === "URL" ? a.url : x)),
      withToken,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe("");
  });

  it("a missing token while the authenticated check is enabled", async () => {
    const r = await releaseGate(["smoke", "--url", a.url]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'release-gate: environment variable SMOKE_TEST_TOKEN is not set: check "user-me" sends a bearer token; ' +
        "export SMOKE_TEST_TOKEN, name another variable with --token-env, or skip the check with --skip user-me",
    );
  });
});

describe("release-gate --help", () => {
  it.each([[["--help"]], [["smoke", "--help"]], [["help", "smoke"]]])("%j exits 0 and documents the options", async (args) => {
    const r = await releaseGate(args);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Usage: release-gate");
    if (args.includes("smoke")) {
      for (const flag of ["--url", "--canary", "--token-env", "--json", "--timeout", "--suite", "--skip"]) expect(r.stdout).toContain(flag);
    }
  });
});
