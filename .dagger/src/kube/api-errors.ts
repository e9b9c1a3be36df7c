/** Reading client-node's ApiException without depending on its generic shape everywhere. */
import * as k8s from "@kubernetes/client-node";

export function statusOf(err: unknown): number | undefined {
  return err instanceof k8s.ApiException ? err.code : undefined;
}

export const isNotFound = (err: unknown): boolean => statusOf(err) === 404;
export const isConflict = (err: unknown): boolean => statusOf(err) === 409;

/** A short, secret-free description of an API failure for error messages. */
export function describeApiError(err: unknown): string {
  if (err instanceof k8s.ApiException) {
    let message: string;
    try {
      const body = typeof err.body === "string" ? JSON.parse(err.body) : err.body;
      message = body?.message ?? "";
    } catch {
      message = "";
    }
    return `HTTP ${err.code}${message ? `: ${message}` : ""}`;
  }
  return err instanceof Error ? err.message.split("\n")[0] : String(err);
}
