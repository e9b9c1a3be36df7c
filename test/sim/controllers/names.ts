/**
 * Names the controllers generate, shaped as Kubernetes shapes them: the pod-template-hash (FNV-32a of the pod
 * template and the collision count, its decimal form mapped onto the "safe" alphabet without vowels) and the
 * five-character random suffix of generated pod names.
 */
import { randomInt } from "node:crypto";
import { canonicalJson } from "./canonical.ts";

const SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

function fnv32a(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, "utf8")) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Kubernetes' rand.SafeEncodeString: each character mapped onto the safe alphabet. */
function safeEncode(s: string): string {
  let out = "";
  for (const ch of s) out += SAFE_ALPHABET[ch.charCodeAt(0) % SAFE_ALPHABET.length];
  return out;
}

export function podTemplateHash(template: unknown, collisionCount = 0): string {
  const text = canonicalJson(template) + (collisionCount ? String(collisionCount) : "");
  return safeEncode(String(fnv32a(text)));
}

export function randomSuffix(length = 5): string {
  let out = "";
  for (let i = 0; i < length; i++) out += SAFE_ALPHABET[randomInt(SAFE_ALPHABET.length)];
  return out;
}
