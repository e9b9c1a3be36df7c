/**
 * A smoke suite is data: which paths to request and what a healthy answer looks like. The schema below is the
 * file format (YAML or JSON) a service brings with `--suite`; the default QualiSys suite is written in it too.
 */
import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { HTTP_HEADER_NAME } from "../config/http-header.ts";
import { UsageError } from "../errors.ts";
import { TLS_CHECK_NAME } from "./types.ts";

/** A dot path into a JSON body, e.g. `status` or `checks.database`. */
const jsonPath = z.string().regex(/^[^.\s]+(\.[^.\s]+)*$/, "a dot path such as status or checks.database");

const jsonValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/** One assertion on a JSON field: exactly one of equals / notNull / everyEntryEquals. */
export const JsonExpectation = z
  .strictObject({
    path: jsonPath,
    /** The field equals this value. */
    equals: jsonValue.optional(),
    /** The field is present and not null. */
    notNull: z.literal(true).optional(),
    /** The field is an object and every one of its entries equals this value (e.g. each dependency "ok"). */
    everyEntryEquals: jsonValue.optional(),
    /** Pass when the field is absent (for fields only some versions of a service report). */
    optional: z.boolean().default(false),
  })
  .refine((e) => [e.equals !== undefined, e.notNull !== undefined, e.everyEntryEquals !== undefined].filter(Boolean).length === 1, {
    message: "give exactly one of equals, notNull or everyEntryEquals",
  });
export type JsonExpectation = z.infer<typeof JsonExpectation>;

const httpStatus = z.number().int().min(100).max(599);

export const Expectation = z.strictObject({
  /** Accepted HTTP status (or statuses). */
  status: z.union([httpStatus, z.array(httpStatus).nonempty()]).default(200),
  /** The body contains this text (or every one of these texts). */
  bodyContains: z.union([z.string().min(1), z.array(z.string().min(1)).nonempty()]).optional(),
  /** Assertions on the JSON body; the body must be JSON when any are given. */
  json: z.array(JsonExpectation).default([]),
});
export type Expectation = z.infer<typeof Expectation>;

const headerName = z.string().regex(HTTP_HEADER_NAME, "an HTTP header name");

export const Check = z.strictObject({
  /** Short unique name, shown in the report and accepted by --skip. */
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "lower-case letters, digits and dashes"),
  /** Path relative to the base URL, starting with "/". */
  path: z.string().startsWith("/", "a path starting with /"),
  method: z.enum(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]).default("GET"),
  headers: z.record(headerName, z.string()).default({}),
  /** "bearer" sends `Authorization: Bearer <token>`; the token is required when such a check runs. */
  auth: z.enum(["none", "bearer"]).default("none"),
  /** Optional request body (sent as is). */
  body: z.string().optional(),
  expect: Expectation.default({ status: 200, json: [] }),
});
export type Check = z.infer<typeof Check>;

export const TlsCheck = z.strictObject({
  /** Run the certificate check for https:// URLs. */
  enabled: z.boolean().default(true),
  /** The certificate must stay valid at least this many more days. */
  minDaysValid: z.number().int().min(0).default(14),
});

export { TLS_CHECK_NAME };

export const Suite = z
  .strictObject({
    name: z.string().min(1),
    checks: z.array(Check).nonempty(),
    tls: TlsCheck.default({ enabled: true, minDaysValid: 14 }),
  })
  .refine((s) => new Set(s.checks.map((c) => c.name)).size === s.checks.length, { message: "check names must be unique" })
  .refine((s) => !s.checks.some((c) => c.name === TLS_CHECK_NAME), {
    message: `"${TLS_CHECK_NAME}" is reserved for the certificate check`,
  });
export type Suite = z.infer<typeof Suite>;
/** What a suite file may omit: defaults fill the rest. */
export type SuiteInput = z.input<typeof Suite>;

/** Validates suite data; `source` names where it came from in the error. */
export function parseSuite(data: unknown, source: string): Suite {
  const result = Suite.safeParse(data);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue.path.length ? ` at ${issue.path.join(".")}` : "";
    throw new UsageError(`suite ${source} is invalid${where}: ${issue.message}; fix the file (format: see README "Smoke suites")`);
  }
  return result.data;
}

/** Reads a suite file (YAML, or JSON which is YAML too); refuses unreadable or invalid files with a UsageError. */
export async function loadSuite(path: string): Promise<Suite> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "error";
    throw new UsageError(`cannot read suite file ${path} (${code}): check the path given to --suite`);
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (err) {
    throw new UsageError(`suite file ${path} is not valid YAML or JSON: ${(err as Error).message.split("\n")[0]}`);
  }
  return parseSuite(data, path);
}
