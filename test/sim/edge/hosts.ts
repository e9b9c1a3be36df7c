/** Host and path matching shared by the Ingress and Gateway API routing. */

/** The request's host: the Host header without port, lower-cased. IPs and localhost become `defaultHost` when one is set. */
export function requestHost(hostHeader: string | undefined, defaultHost: string | undefined): string {
  let host = (hostHeader ?? "").toLowerCase();
  host = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.replace(/:\d+$/, "");
  const isLocal = host === "" || host === "localhost" || /^\d+\.\d+\.\d+\.\d+$/.test(host) || host.startsWith("[");
  return isLocal && defaultHost ? defaultHost.toLowerCase() : host;
}

/**
 * How well a route hostname matches the request host: 0 for no match; exact beats wildcard; among wildcards,
 * the longer suffix wins; a route without hostname matches everything, least specifically.
 * `wildcardLabels: "one"` is Ingress (`*.foo.com` covers one label), `"many"` is Gateway API (any depth).
 */
export function hostScore(routeHost: string | undefined, host: string, wildcardLabels: "one" | "many"): number {
  if (!routeHost) return 1;
  const rh = routeHost.toLowerCase();
  if (rh === host) return 1_000_000;
  if (rh.startsWith("*.")) {
    const suffix = rh.slice(1); // ".foo.com"
    if (!host.endsWith(suffix)) return 0;
    const label = host.slice(0, -suffix.length);
    if (label.length === 0) return 0;
    if (wildcardLabels === "one" && label.includes(".")) return 0;
    return 1000 + suffix.length;
  }
  return 0;
}

/** Prefix matching by path element: "/api" matches "/api" and "/api/x", not "/apix"; "/" matches everything. */
export function prefixMatches(prefix: string, path: string): boolean {
  const p = prefix.length > 1 ? prefix.replace(/\/+$/, "") : prefix;
  if (p === "/" || p === "") return true;
  return path === p || path.startsWith(p + "/");
}
