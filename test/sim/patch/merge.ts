/** JSON merge patch (RFC 7386, `application/merge-patch+json`) through json-merge-patch. */
import jsonMergePatch from "json-merge-patch";
import { badRequest } from "../api/status.ts";

export function applyMergePatch(original: object, patch: unknown): Record<string, unknown> {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) {
    throw badRequest("the body of the request was not a JSON object: a merge patch must be a JSON object");
  }
  return jsonMergePatch.apply(structuredClone(original), patch) as Record<string, unknown>;
}
