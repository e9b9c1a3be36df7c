/**
 * Judges one HTTP answer against a check's expectations. The first unmet expectation becomes the reason, worded
 * as "expected X, got Y" so a reader of the report knows what to look at without re-running anything.
 */
import type { Expectation, JsonExpectation } from "./suite.ts";

export interface Answer {
  status: number;
  contentType: string;
  body: string;
}

/** Removes secrets (the token a service may echo back) from text taken from an answer. */
export type Scrub = (text: string) => string;

/**
 * Returns undefined when every expectation holds, else a short reason. `scrub` is applied to text from the answer
 * before it is cut short: a cut could leave the start of a token that scrubbing the finished reason no longer
 * recognises.
 */
export function judge(expect: Expectation, answer: Answer, scrub: Scrub = (text) => text): string | undefined {
  const reason = judgeAnswer(expect, answer, scrub);
  return reason === undefined ? undefined : scrub(reason);
}

function judgeAnswer(expect: Expectation, answer: Answer, scrub: Scrub): string | undefined {
  const statuses = Array.isArray(expect.status) ? expect.status : [expect.status];
  if (!statuses.includes(answer.status)) {
    const hint = answer.status === 401 || answer.status === 403 ? " (token missing, expired or not allowed?)" : "";
    return `expected HTTP ${statuses.join(" or ")}, got ${answer.status}${hint}`;
  }
  const texts = expect.bodyContains === undefined ? [] : Array.isArray(expect.bodyContains) ? expect.bodyContains : [expect.bodyContains];
  for (const text of texts) {
    if (!answer.body.includes(text)) {
      return `expected body to contain ${JSON.stringify(text)}, not found in ${describeBody(answer)}`;
    }
  }
  if (expect.json.length === 0) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(answer.body);
  } catch {
    return `expected a JSON body, got ${describeBody(answer)} that does not parse as JSON`;
  }
  for (const rule of expect.json) {
    const reason = judgeField(rule, doc, scrub);
    if (reason) return reason;
  }
  return undefined;
}

function judgeField(rule: JsonExpectation, doc: unknown, scrub: Scrub): string | undefined {
  const show = (value: unknown) => shorten(scrub(JSON.stringify(value) ?? String(value)));
  const found = lookup(doc, rule.path);
  if (!found.present) {
    return rule.optional ? undefined : `expected JSON field ${rule.path}, it is missing`;
  }
  const value = found.value;
  if (rule.notNull) {
    return value === null ? `expected JSON ${rule.path} not null, got null` : undefined;
  }
  if (rule.equals !== undefined) {
    return value === rule.equals ? undefined : `expected JSON ${rule.path} == ${show(rule.equals)}, got ${show(value)}`;
  }
  // everyEntryEquals: an object of named entries (e.g. each dependency of /api/ready), all equal to the value.
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return `expected JSON ${rule.path} to be an object of entries, got ${show(value)}`;
  }
  const bad = Object.entries(value).filter(([, v]) => v !== rule.everyEntryEquals);
  if (bad.length === 0) return undefined;
  const list = bad.map(([k, v]) => `${rule.path}.${k} == ${show(v)}`).join(", ");
  return `expected every entry of JSON ${rule.path} == ${show(rule.everyEntryEquals)}, got ${list}`;
}

function lookup(doc: unknown, path: string): { present: boolean; value?: unknown } {
  let cur: unknown = doc;
  for (const key of path.split(".")) {
    if (cur === null || typeof cur !== "object" || !Object.hasOwn(cur, key)) return { present: false };
    cur = (cur as Record<string, unknown>)[key];
  }
  return { present: true, value: cur };
}

/** A value shown in a reason (JSON, already scrubbed), cut short so a big object cannot flood the table. */
function shorten(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function describeBody(answer: Answer): string {
  const type = answer.contentType.split(";")[0].trim() || "no content-type";
  return `${answer.body.length} bytes of ${type}`;
}
