/**
 * The QualiSys critical paths: the default suite when no --suite file is given. Written as suite data (the same
 * shape a suite file has), so it doubles as the example of the format; `qualisysSuite` is the same suite with
 * every default filled in, written out so that `release-gate smoke` need not load the suite schema (zod) at
 * start-up. test/smoke/suite.test.ts holds the two equal (parsing the data gives exactly qualisysSuite).
 */
import type { Suite, SuiteInput } from "./suite.ts";

export const qualisysSuiteData = {
  name: "qualisys",
  checks: [
    { name: "health", path: "/api/health", expect: { status: 200, json: [{ path: "status", equals: "ok" }] } },
    {
      // Where /api/ready lists its dependencies (checks: { database: "ok" }), each must be ok: this is how the
      // suite proves database connectivity.
      name: "ready",
      path: "/api/ready",
      expect: {
        status: 200,
        json: [
          { path: "status", equals: "ready" },
          { path: "checks", everyEntryEquals: "ok", optional: true },
        ],
      },
    },
    { name: "login", path: "/login", expect: { status: 200, bodyContains: "Sign In" } },
    { name: "user-me", path: "/api/v1/user/me", auth: "bearer", expect: { status: 200, json: [{ path: "id", notNull: true }] } },
  ],
  tls: { enabled: true, minDaysValid: 14 },
} satisfies SuiteInput;

export const qualisysSuite: Suite = {
  name: "qualisys",
  checks: [
    {
      name: "health",
      path: "/api/health",
      method: "GET",
      headers: {},
      auth: "none",
      expect: { status: 200, json: [{ path: "status", equals: "ok", optional: false }] },
    },
    {
      name: "ready",
      path: "/api/ready",
      method: "GET",
      headers: {},
      auth: "none",
      expect: {
        status: 200,
        json: [
          { path: "status", equals: "ready", optional: false },
          { path: "checks", everyEntryEquals: "ok", optional: true },
        ],
      },
    },
    { name: "login", path: "/login", method: "GET", headers: {}, auth: "none", expect: { status: 200, bodyContains: "Sign In", json: [] } },
    {
      name: "user-me",
      path: "/api/v1/user/me",
      method: "GET",
      headers: {},
      auth: "bearer",
      expect: { status: 200, json: [{ path: "id", notNull: true, optional: false }] },
    },
  ],
  tls: { enabled: true, minDaysValid: 14 },
};
