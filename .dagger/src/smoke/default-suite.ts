/**
 * The QualiSys critical paths: the default suite when no --suite file is given. Written as suite data (the same
 * shape a suite file has), so it doubles as the example of the format.
 */
import { parseSuite, type Suite, type SuiteInput } from "./suite.ts";

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

export const qualisysSuite: Suite = parseSuite(qualisysSuiteData, "qualisys (built in)");
