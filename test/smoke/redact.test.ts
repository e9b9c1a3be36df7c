/** Redaction: what can identify the token goes, nothing else does, and JSON stays JSON. */
import { describe, expect, it } from "vitest";
import { MIN_FRAGMENT, REDACTED, redactJsonValue, redactSecrets } from "#src/smoke/redact.ts";

const r = (text: string, ...secrets: string[]) => redactSecrets(text, secrets);

describe("a short token (SMOKE_TEST_TOKEN=t)", () => {
  it("is redacted where it stands as a word, not inside other words", () => {
    expect(r('expected JSON id not null, got "Bearer t"', "t")).toBe('expected JSON id not null, got "Bearer [redacted]"');
    expect(r("expected true, the test", "t")).toBe("expected true, the test");
    expect(r("token=t; next", "t")).toBe("token=[redacted]; next");
  });

  it("leaves JSON text valid, whatever the token looks like", () => {
    const doc = { ok: true, status: 200, reason: "got Bearer t", items: [null, false, "t"], t: "x" };
    for (const token of ["t", "true", "200", "null", "ok", '"', "\\", "a b"]) {
      const out = JSON.stringify(redactJsonValue(doc, [token]), null, 2);
      expect(() => JSON.parse(out), token).not.toThrow();
      expect(JSON.parse(out).ok).toBe(true);
      expect(JSON.parse(out).status).toBe(200);
    }
    expect(redactJsonValue(doc, ["t"])).toEqual({
      ok: true,
      status: 200,
      reason: "got Bearer [redacted]",
      items: [null, false, REDACTED],
      t: "x",
    });
    // An identifying secret is redacted from keys too.
    expect(redactJsonValue({ sk_live_0123456789: 1 }, ["sk_live_0123456789"])).toEqual({ [REDACTED]: 1 });
  });

  it("is not redacted again inside a marker: redacting twice changes nothing", () => {
    for (const token of ["t", "e", "d", "redacted", "[redacted]", "acted]", "xredactedx"]) {
      const once = r(`expected "${token}", got Bearer ${token} and [redacted]`, token);
      expect(r(once, token), token).toBe(once);
      expect(once).not.toMatch(/\[[^\]]*\[/); // no marker inside a marker
    }
  });
});

describe("a token long enough to identify", () => {
  const LONG = "sk_live_Q9w8E7r6T5y4U3i2O1p0A9s8D7f6G5h4J3k2";

  it("is redacted anywhere, even inside a longer word, and so is every piece of MIN_FRAGMENT characters", () => {
    expect(r(`x${LONG}y`, LONG)).toBe(`x${REDACTED}y`);
    for (let i = 0; i + MIN_FRAGMENT <= LONG.length; i++) {
      const piece = LONG.slice(i, i + MIN_FRAGMENT);
      expect(r(`a ${piece} b`, LONG)).toBe(`a ${REDACTED} b`);
    }
  });

  it("loses its start before a truncation mark, but a shorter piece elsewhere is ordinary text", () => {
    expect(r(`got "Bearer ${LONG.slice(0, 5)}..."`, LONG)).toBe(`got "Bearer ${REDACTED}..."`);
    expect(r(`got "${LONG.slice(0, 3)}…"`, LONG)).toBe(`got "${REDACTED}…"`);
    expect(r("ask_me and sk... and 200 ms", LONG)).toBe("ask_me and sk... and 200 ms");
    // Not the start of a word: "task_li..." is not a cut token.
    expect(r("task_li...", LONG)).toBe("task_li...");
    expect(r(`a piece ${LONG.slice(3, 3 + MIN_FRAGMENT - 1)} of 7`, LONG)).toBe(`a piece ${LONG.slice(3, 3 + MIN_FRAGMENT - 1)} of 7`);
  });

  it("is redacted in its JSON-escaped form", () => {
    const quoted = 'pa"ss\\word-with-quotes';
    expect(r(JSON.stringify({ v: quoted }), quoted)).toBe('{"v":"[redacted]"}');
  });
});

it("never leaves a whole-word token in text, for any token of the b64token alphabet (seeded)", () => {
  // Tokens and texts from a small deterministic generator: the text mixes words, punctuation and the token.
  let seed = 42;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
  const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~+/";
  for (let round = 0; round < 2000; round++) {
    const token = Array.from({ length: 1 + rand(12) }, () => alphabet[rand(alphabet.length)]).join("");
    const parts = Array.from({ length: 6 }, () => [token, "expected", "true", "200", '"', " ", ": ", "[redacted]", "…"][rand(9)]);
    const text = parts.join(" ");
    const out = r(text, token);
    expect(r(out, token)).toBe(out);
    // Every standalone occurrence (between spaces) is gone.
    expect(out.split(" ")).not.toContain(token);
  }
});
