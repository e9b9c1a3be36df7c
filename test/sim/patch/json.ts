/** JSON patch (RFC 6902, `application/json-patch+json`) through fast-json-patch, with the API server's errors. */
import fastJsonPatch from "fast-json-patch";
import { ApiError, badRequest } from "../api/status.ts";

const { applyPatch, validate } = fastJsonPatch;

export function applyJsonPatch(original: object, patch: unknown): Record<string, unknown> {
  if (!Array.isArray(patch)) throw badRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch");
  const ops = patch as fastJsonPatch.Operation[];
  const invalid = validate(ops);
  if (invalid) throw badRequest(`invalid JSON patch: ${invalid.message.split("\n")[0]}`);
  try {
    return applyPatch(structuredClone(original), ops, false, true).newDocument as Record<string, unknown>;
  } catch (e) {
    // The real server answers a patch that does not apply (failed `test`, missing path) with 422.
    const detail = e instanceof Error ? e.message.split("\n")[0]! : String(e);
    throw new ApiError(422, "Invalid", "the server rejected our request due to an error in our request", { causes: [{ message: detail }] });
  }
}
