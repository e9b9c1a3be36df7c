/**
 * Reading client-node's failures without depending on their shapes everywhere, and saying them the way a user
 * can act on: which object or which server, what happened, what to do. client-node's own message
 * ("HTTP-Code: 404 Message: Unknown API Status Code! Body: …") and undici's bare "fetch failed" never reach a user.
 */
import * as k8s from "@kubernetes/client-node";

export function statusOf(err: unknown): number | undefined {
  return err instanceof k8s.ApiException ? err.code : undefined;
}

export const isNotFound = (err: unknown): boolean => statusOf(err) === 404;
export const isConflict = (err: unknown): boolean => statusOf(err) === 409;

/** The object `read` returns, or undefined when it does not exist (404); any other failure is thrown. */
export async function ifExists<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

interface StatusBody {
  message?: string;
  reason?: string;
  details?: { name?: string; kind?: string; group?: string };
}

function statusBody(err: k8s.ApiException<unknown>): StatusBody {
  try {
    const body = typeof err.body === "string" ? JSON.parse(err.body) : err.body;
    return body && typeof body === "object" ? (body as StatusBody) : {};
  } catch {
    return {};
  }
}

/** The network error code under undici's "fetch failed" (ECONNREFUSED, ENOTFOUND, UND_ERR_CONNECT_TIMEOUT…). */
function networkCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
  }
  return undefined;
}

/** A short, secret-free description of an API failure: "HTTP 404: deployments.apps "x" not found". */
export function describeApiError(err: unknown): string {
  if (err instanceof k8s.ApiException) {
    const message = statusBody(err).message;
    return `HTTP ${err.code}${message ? `: ${message}` : ""}`;
  }
  const code = networkCode(err);
  const first = err instanceof Error ? err.message.split("\n")[0] : String(err);
  return code && first === "fetch failed" ? `${first} (${code})` : first;
}

/**
 * An API failure as a sentence a user can act on, naming the server and the object: what the API said, and what
 * to check. `server` is the API server's URL (from the kubeconfig); `namespace` the release's.
 */
export function explainApiFailure(err: unknown, server: string | undefined, namespace?: string): string {
  const at = server ? `the Kubernetes API at ${server}` : "the Kubernetes API";
  if (err instanceof k8s.ApiException) {
    const body = statusBody(err);
    const what = body.message ?? `HTTP ${err.code}`;
    switch (err.code) {
      case 401:
        return `${at} refused the credentials (HTTP 401: ${what}): check the kubeconfig's user, or that the EKS token has not expired`;
      case 403:
        return (
          `${at} forbids it (HTTP 403: ${what}): the identity needs the release-gate Role in namespace ${namespace ?? "?"} ` +
          `(kubernetes/production/rbac.yaml)`
        );
      case 404: {
        const get =
          body.details?.kind === "namespaces"
            ? ["kubectl", "get", "namespace", body.details.name]
            : ["kubectl", "-n", namespace ?? "<namespace>", "get", body.details?.kind ?? "<kind>", body.details?.name].filter(Boolean);
        return (
          `${at} answered 404: ${what}. Check that namespace ${namespace ?? "?"} and the object exist (\`${get.join(" ")}\`) and that ` +
          `release.yaml names them`
        );
      }
      default:
        return `${at} answered HTTP ${err.code}: ${what}`;
    }
  }
  const code = networkCode(err);
  if (code) {
    return `cannot reach ${at} (${code}): check the kubeconfig's server address, the network or VPN, and that the cluster is up`;
  }
  return err instanceof Error ? err.message.split("\n")[0] : String(err);
}

/** True for failures from the API or the network under it (as opposed to release-gate's own errors). */
export function isApiFailure(err: unknown): boolean {
  return err instanceof k8s.ApiException || (err instanceof TypeError && err.message === "fetch failed") || networkCode(err) !== undefined;
}
