/**
 * The lifecycle's preflight refuses a bearer token that would travel over plain http to anything but loopback,
 * before anything changes (issue 10): planSmoke, which preflight calls, sees where RELEASE_GATE_RESOLVE sends each
 * public URL. Pure: nothing here sends a request.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseReleaseConfig } from "#src/config/load.ts";
import { UsageError } from "#src/errors.ts";
import { silentProgress } from "#src/pipeline/progress.ts";
import { planSmoke } from "#src/pipeline/smoke-services.ts";
import { parseResolve } from "#src/smoke/public-url.ts";

const config = parseReleaseConfig(readFileSync("kubernetes/production/release.yaml", "utf8"));

describe("the smoke token's transport, at preflight", () => {
  it("refuses plain http to a non-loopback address, naming the service, the check and where the URL was resolved to", async () => {
    const err = await planSmoke(config, "tok", silentProgress, parseResolve("*=http://10.9.9.9:8080")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe(
      `refused: qualisys-api's smoke tests would send the bearer token (check "user-me") over plain http to 10.9.9.9:8080 (where ` +
        "RELEASE_GATE_RESOLVE sends https://api.qualisys.io): anyone on the way could read it. " +
        "The token travels over https, or over plain http only to loopback (localhost, 127.0.0.0/8, ::1, e.g. a port-forward); " +
        "nothing was changed in the cluster",
    );
  });

  it("accepts https, loopback, and no token at all", async () => {
    for (const resolve of [undefined, "*=http://127.0.0.1:8080", "*=http://localhost:9", "*=https://10.9.9.9"])
      await expect(planSmoke(config, "tok", silentProgress, parseResolve(resolve))).resolves.toBeInstanceOf(Map);
    await expect(planSmoke(config, undefined, silentProgress, parseResolve("*=http://10.9.9.9:8080"))).resolves.toBeInstanceOf(Map);
  });
});
