/**
 * Scrubbing secrets (the bearer token) from text that may quote them: whole, JSON-escaped, or in pieces — a
 * reason cut short for the table keeps the start of a value, and any prefix of a token that survives is a leak.
 */

export const REDACTED = "[redacted]";
/** Pieces of a token at least this long are redacted wherever they appear (a shorter secret only whole). */
export const MIN_FRAGMENT = 8;
/** A start of a token at least this long is redacted where text was cut short ("..." or "…" right after it). */
export const MIN_CUT_PREFIX = 3;

const CUT_MARKS = ["...", "…"];

/**
 * `text` with every secret replaced by "[redacted]": whole occurrences, their JSON-escaped form, and for
 * token-like secrets (no whitespace) any piece of MIN_FRAGMENT characters or more, and a shorter start of one
 * (MIN_CUT_PREFIX or more) right before a truncation mark.
 */
export function redactSecrets(text: string, secrets: Iterable<string>): string {
  const mask = new Uint8Array(text.length);
  let found = false;
  for (const secret of secrets) {
    if (!secret) continue;
    const escaped = JSON.stringify(secret).slice(1, -1);
    for (const form of escaped === secret ? [secret] : [secret, escaped]) found = mark(text, form, mask) || found;
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

/** Marks in `mask` where `secret` (or a piece of it) appears in `text`; true when anything was marked. */
function mark(text: string, secret: string, mask: Uint8Array): boolean {
  let found = false;
  const set = (from: number, to: number) => {
    mask.fill(1, from, to);
    found = true;
  };
  for (let i = text.indexOf(secret); i !== -1; i = text.indexOf(secret, i + 1)) set(i, i + secret.length);
  // Pieces only of token-like secrets: pieces of a multi-line or worded secret would be ordinary words.
  if (/\s/.test(secret)) return found;
  if (secret.length > MIN_FRAGMENT) {
    const pieces = new Set<string>();
    for (let i = 0; i + MIN_FRAGMENT <= secret.length; i++) pieces.add(secret.slice(i, i + MIN_FRAGMENT));
    for (let i = 0; i + MIN_FRAGMENT <= text.length; i++) {
      if (pieces.has(text.slice(i, i + MIN_FRAGMENT))) set(i, i + MIN_FRAGMENT);
    }
  }
  for (const cut of CUT_MARKS) {
    for (let p = text.indexOf(cut); p !== -1; p = text.indexOf(cut, p + 1)) {
      for (let len = Math.min(secret.length - 1, p); len >= MIN_CUT_PREFIX; len--) {
        if (text.startsWith(secret.slice(0, len), p - len)) {
          set(p - len, p);
          break;
        }
      }
    }
  }
  return found;
}
