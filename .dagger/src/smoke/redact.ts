/**
 * Scrubbing secrets (the bearer token) from text that may quote them: whole, JSON-escaped, or in pieces — a
 * reason cut short for the table keeps the start of a value, and any identifying piece of a token is a leak.
 *
 * Only what can identify the token is redacted. A token of MIN_FRAGMENT characters or more is redacted wherever
 * it appears, and so is any piece of it that long. A shorter token is redacted where it stands as a word of its
 * own (not inside a longer word): with SMOKE_TEST_TOKEN=t, "Bearer t" loses its token but "expected" and `true`
 * keep their t — replacing every t would both mangle the output and spell the token out. "[redacted]" markers
 * already in the text are never redacted again, so redacting twice changes nothing.
 */

export const REDACTED = "[redacted]";
/** Pieces of a token at least this long are redacted wherever they appear (a shorter secret only as a word). */
export const MIN_FRAGMENT = 8;
/** A start of a token at least this long is redacted where text was cut short ("..." or "…" right after it). */
export const MIN_CUT_PREFIX = 3;

const CUT_MARKS = ["...", "…"];
const WORD = /[\p{L}\p{N}_]/u;
const isWord = (ch: string | undefined): boolean => ch !== undefined && WORD.test(ch);

/**
 * `text` with every secret replaced by "[redacted]": whole occurrences (as a word of their own for a secret
 * shorter than MIN_FRAGMENT), their JSON-escaped form, and for token-like secrets (no whitespace) any piece of
 * MIN_FRAGMENT characters or more, and a start of one (MIN_CUT_PREFIX or more) right before a truncation mark.
 */
export function redactSecrets(text: string, secrets: Iterable<string>): string {
  const mask = new Uint8Array(text.length);
  const kept = protectedRanges(text);
  let found = false;
  for (const secret of secrets) {
    if (!secret) continue;
    const escaped = JSON.stringify(secret).slice(1, -1);
    for (const form of escaped === secret ? [secret] : [secret, escaped]) found = mark(text, form, mask, kept) || found;
  }
  if (!found) return text;
  let out = "";
  for (let i = 0; i < text.length;) {
    if (!mask[i]) {
      out += text[i++];
      continue;
    }
    while (i < text.length && mask[i]) i++;
    out += REDACTED;
  }
  return out;
}

/**
 * A JSON value with every string in it redacted: the document stays valid JSON whatever the secret is, even one
 * that looks like `true` or `200`, since only the contents of strings change. Keys are the tool's own field names:
 * a short secret that happens to equal one ("ok", "status") leaves it alone; an identifying one is still redacted.
 */
export function redactJsonValue(value: unknown, secrets: Iterable<string>): unknown {
  const list = [...secrets].filter(Boolean);
  const identifying = list.filter((s) => s.length >= MIN_FRAGMENT);
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return redactSecrets(v, list);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [redactSecrets(k, identifying), walk(x)]));
    return v;
  };
  return list.length === 0 ? value : walk(value);
}

/** Where "[redacted]" markers already stand: a second pass must not find a short secret inside them. */
function protectedRanges(text: string): Uint8Array {
  const kept = new Uint8Array(text.length);
  for (let i = text.indexOf(REDACTED); i !== -1; i = text.indexOf(REDACTED, i + REDACTED.length)) kept.fill(1, i, i + REDACTED.length);
  return kept;
}

/** Marks in `mask` where `secret` (or an identifying piece of it) appears in `text`; true when anything was marked. */
function mark(text: string, secret: string, mask: Uint8Array, kept: Uint8Array): boolean {
  let found = false;
  const set = (from: number, to: number) => {
    if (kept.subarray(from, to).includes(1)) return;
    mask.fill(1, from, to);
    found = true;
  };
  // At a word boundary: the text around it does not continue a word the secret starts or ends with.
  const startsWord = (i: number, s: string) => !isWord(s[0]) || !isWord(text[i - 1]);
  const endsWord = (i: number, s: string) => !isWord(s.at(-1)) || !isWord(text[i + s.length]);
  const identifying = secret.length >= MIN_FRAGMENT;
  for (let i = text.indexOf(secret); i !== -1; i = text.indexOf(secret, i + 1)) {
    if (identifying || (startsWord(i, secret) && endsWord(i, secret))) set(i, i + secret.length);
  }
  // Pieces only of token-like secrets: pieces of a multi-line or worded secret would be ordinary words.
  if (/\s/.test(secret)) return found;
  if (secret.length > MIN_FRAGMENT) {
    const pieces = new Set<string>();
    for (let i = 0; i + MIN_FRAGMENT <= secret.length; i++) pieces.add(secret.slice(i, i + MIN_FRAGMENT));
    for (let i = 0; i + MIN_FRAGMENT <= text.length; i++) {
      if (pieces.has(text.slice(i, i + MIN_FRAGMENT))) set(i, i + MIN_FRAGMENT);
    }
  }
  // The start of the secret, as a word of its own, cut short by a truncation mark: what a shortened quote leaves.
  for (const cut of CUT_MARKS) {
    for (let p = text.indexOf(cut); p !== -1; p = text.indexOf(cut, p + 1)) {
      for (let len = Math.min(secret.length - 1, p); len >= MIN_CUT_PREFIX; len--) {
        const prefix = secret.slice(0, len);
        if (text.startsWith(prefix, p - len) && startsWord(p - len, prefix)) {
          set(p - len, p);
          break;
        }
      }
    }
  }
  return found;
}
