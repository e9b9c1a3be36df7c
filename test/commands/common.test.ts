/** The shared CLI helpers other commands build on. */
import { InvalidArgumentError } from "commander";
import { describe, expect, it } from "vitest";
import { envNameOption, headerOption, intOption, listOption, readSecretEnv, redact } from "#src/commands/common.ts";
import { UsageError } from "#src/errors.ts";

describe("readSecretEnv", () => {
  it("returns the value of the variable it is given the NAME of, and registers it for redaction", () => {
    const env = { DEPLOY_TOKEN: "s3cr3t-value-41" };
    expect(readSecretEnv("DEPLOY_TOKEN", env)).toBe("s3cr3t-value-41");
    expect(redact("Authorization: Bearer s3cr3t-value-41 (twice: s3cr3t-value-41)")).toBe(
      "Authorization: Bearer [redacted] (twice: [redacted])",
    );
  });

  it("redacts a token cut short by a truncated quote, and any long piece of it, not only the whole", () => {
    const token = "sk_live_Q9w8E7r6T5y4U3i2O1p0A9s8D7f6G5h4J3k2L1z0X9c8V7b6N5m4Q3w2E1r0";
    readSecretEnv("LONG_TOKEN", { LONG_TOKEN: token });
    expect(redact(`got "Bearer ${token.slice(0, 49)}..."`)).toBe('got "Bearer [redacted]..."');
    expect(redact(`got "x ${token.slice(0, 4)}…"`)).toBe('got "x [redacted]…"');
    expect(redact(`middle ${token.slice(20, 30)} end`)).toBe("middle [redacted] end");
    expect(redact(`json ${JSON.stringify({ t: token })}`)).toBe('json {"t":"[redacted]"}');
    // Short pieces elsewhere are ordinary text: "sk_" or two characters before "..." are kept.
    expect(redact("ask_me and sk... and 200 ms")).toBe("ask_me and sk... and 200 ms");
  });

  it("redacts a secret in its JSON-escaped form (--json output)", () => {
    readSecretEnv("QUOTED", { QUOTED: 'pa"ss\\word-with-quotes' });
    expect(redact(JSON.stringify({ v: 'pa"ss\\word-with-quotes' }))).toBe('{"v":"[redacted]"}');
  });

  it("treats unset and empty alike: no secret", () => {
    expect(readSecretEnv("NOPE", {})).toBeUndefined();
    expect(readSecretEnv("EMPTY", { EMPTY: "" })).toBeUndefined();
  });

  it("refuses something that is not a variable name (a value pasted by mistake) without echoing it", () => {
    expect(() => readSecretEnv("eyJhbGciOi.x", {})).toThrow(UsageError);
    expect(() => readSecretEnv("eyJhbGciOi.x", {})).not.toThrow(/eyJhbGciOi/);
  });
});

describe("option parsers", () => {
  it("intOption takes whole numbers from min up, nothing else", () => {
    expect(intOption(1)("250")).toBe(250);
    for (const bad of ["0", "-1", "1.5", "1e3", "", "ten"]) expect(() => intOption(1)(bad)).toThrow(InvalidArgumentError);
    expect(intOption(0)("0")).toBe(0);
  });

  it("envNameOption accepts names only, and does not quote what it refuses", () => {
    expect(envNameOption("SMOKE_TEST_TOKEN")).toBe("SMOKE_TEST_TOKEN");
    expect(() => envNameOption("eyJhbGciOi.secret")).toThrow(UsageError);
    expect(() => envNameOption("eyJhbGciOi.secret")).not.toThrow(/eyJhbGciOi/);
  });

  it("headerOption parses Name: value and refuses header injection", () => {
    expect(headerOption("X-Canary: always")).toEqual({ name: "X-Canary", value: "always" });
    expect(headerOption("X-Route:canary:blue")).toEqual({ name: "X-Route", value: "canary:blue" });
    for (const bad of ["X-Canary", ": always", "X Canary: always", "X-Canary: ", "X-A: b\r\nX-Evil: 1"]) {
      expect(() => headerOption(bad)).toThrow(InvalidArgumentError);
    }
  });

  it("listOption splits commas and accumulates repeats", () => {
    expect(listOption("tls, user-me", listOption("health", undefined))).toEqual(["health", "tls", "user-me"]);
  });
});
