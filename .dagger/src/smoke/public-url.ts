/**
 * Where a service's public URL is really reached. Normally the URL itself; with RELEASE_GATE_RESOLVE
 * ("api.qualisys.io=http://127.0.0.1:8080,*=http://10.0.0.5") requests go to another address with the original
 * Host header, like curl --resolve: for a staging edge, a port-forward, or the simulator's traffic edge.
 */
import { UsageError } from "../errors.ts";

export interface Target {
  url: string;
  headers: Record<string, string>;
}

export type Resolver = (url: string) => Target;

export const directResolver: Resolver = (url) => ({ url, headers: {} });

export function parseResolve(spec: string | undefined): Resolver {
  if (!spec) return directResolver;
  const map = new Map<string, URL>();
  for (const entry of spec
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = entry.indexOf("=");
    const host = entry.slice(0, eq);
    let to: URL;
    try {
      to = new URL(entry.slice(eq + 1));
    } catch {
      throw new UsageError(`RELEASE_GATE_RESOLVE entry ${JSON.stringify(entry)} is not host=URL`);
    }
    if (eq <= 0 || !/^[A-Za-z0-9.*-]+$/.test(host))
      throw new UsageError(`RELEASE_GATE_RESOLVE entry ${JSON.stringify(entry)} is not host=URL`);
    map.set(host.toLowerCase(), to);
  }
  return (url): Target => {
    const u = new URL(url);
    const to = map.get(u.hostname.toLowerCase()) ?? map.get("*");
    if (!to) return { url, headers: {} };
    // Only the address changes: path and query stay those of the public URL.
    return { url: `${to.origin}${u.pathname === "/" && !url.endsWith("/") ? "" : u.pathname}${u.search}`, headers: { Host: u.host } };
  };
}
