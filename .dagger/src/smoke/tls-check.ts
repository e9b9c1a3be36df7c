/**
 * The certificate check for https:// URLs: the chain is trusted, the certificate names the host, and it stays
 * valid for at least `minDaysValid` more days (renewal that silently stopped shows up here weeks before users see it).
 */
import { isIP } from "node:net";
import { checkServerIdentity, connect, type PeerCertificate, type SecureContext } from "node:tls";
import type { CheckResult } from "./types.ts";

export interface TlsCheckOptions {
  url: URL;
  /** Trust store with extra CAs; the system store when undefined. */
  secureContext?: SecureContext;
  minDaysValid: number;
  timeoutMs: number;
  deadline: AbortSignal;
  now?: () => Date;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** OpenSSL's verification codes, in words. */
const TLS_CODES: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: "self-signed certificate",
  SELF_SIGNED_CERT_IN_CHAIN: "self-signed certificate in the chain",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "issuer unknown (incomplete chain?)",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "issuer not trusted",
  UNABLE_TO_GET_ISSUER_CERT: "issuer not trusted",
  CERT_HAS_EXPIRED: "certificate has expired",
  CERT_NOT_YET_VALID: "certificate is not valid yet",
  ERR_TLS_CERT_ALTNAME_INVALID: "certificate does not name this host",
};

/** "self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)", or the code alone when it has no description. */
export function describeTlsCode(code: string): string {
  return TLS_CODES[code] ? `${TLS_CODES[code]} (${code})` : code;
}

export async function runTlsCheck(name: string, opts: TlsCheckOptions): Promise<CheckResult> {
  const started = performance.now();
  const result = (ok: boolean, reason?: string): CheckResult => ({
    name,
    ok,
    latencyMs: Math.round(performance.now() - started),
    reason,
    attempts: 1,
  });
  const host = opts.url.hostname.replace(/^\[|\]$/g, "");
  let peer: { cert: PeerCertificate; authorized: boolean; authorizationError?: Error };
  try {
    peer = await handshake(host, Number(opts.url.port || 443), opts);
  } catch (err) {
    return result(false, (err as Error).message);
  }
  if (!peer.authorized) {
    const code = peer.authorizationError?.message ?? "unknown reason";
    return result(false, `certificate not trusted: ${describeTlsCode(code)}; expected a chain to a trusted CA`);
  }
  const identity = checkServerIdentity(host, peer.cert);
  if (identity) return result(false, `certificate is not valid for ${host}: ${identity.message}`);
  const validTo = new Date(peer.cert.valid_to);
  const daysLeft = Math.floor((validTo.getTime() - (opts.now?.() ?? new Date()).getTime()) / DAY_MS);
  if (daysLeft < opts.minDaysValid) {
    const when = validTo.toISOString().slice(0, 10);
    return result(false, `certificate expires ${when} (in ${Math.max(daysLeft, 0)} days), expected at least ${opts.minDaysValid} days left`);
  }
  return result(true);
}

/** Completes a TLS handshake without rejecting, so the verdict can say exactly what is wrong with the certificate. */
function handshake(host: string, port: number, opts: TlsCheckOptions) {
  return new Promise<{ cert: PeerCertificate; authorized: boolean; authorizationError?: Error }>((resolve, reject) => {
    const signal = AbortSignal.any([AbortSignal.timeout(opts.timeoutMs), opts.deadline]);
    const socket = connect({
      host,
      port,
      // SNI must not carry an IP address.
      servername: isIP(host) ? undefined : host,
      secureContext: opts.secureContext,
      rejectUnauthorized: false,
      // Identity is checked below with the same function, so a mismatch gets its own reason.
      checkServerIdentity: () => undefined,
    });
    const onAbort = () => socket.destroy(new Error("aborted"));
    signal.addEventListener("abort", onAbort, { once: true });
    socket.once("close", () => signal.removeEventListener("abort", onAbort));
    socket.once("secureConnect", () => {
      const cert = socket.getPeerCertificate();
      const authorizationError = socket.authorizationError as Error | string | undefined;
      resolve({
        cert,
        authorized: socket.authorized,
        authorizationError: typeof authorizationError === "string" ? new Error(authorizationError) : authorizationError,
      });
      socket.end();
    });
    socket.once("error", (err: NodeJS.ErrnoException) => {
      socket.destroy();
      if (opts.deadline.aborted) reject(new Error("no verdict before the overall deadline"));
      else if (signal.aborted) reject(new Error(`no TLS handshake within ${opts.timeoutMs} ms`));
      else reject(new Error(`TLS connection failed (${err.code ?? err.message}): is the service up and the URL right?`));
    });
  });
}
