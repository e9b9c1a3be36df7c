/**
 * The certificate check for https:// URLs: the chain is trusted, the certificate names the host, and it stays
 * valid for at least `minDaysValid` more days (renewal that silently stopped shows up here weeks before users see it).
 * Connection errors are retried like the HTTP checks' are; a certificate verdict never is.
 */
import { isIP } from "node:net";
import { checkServerIdentity, connect, type PeerCertificate, type SecureContext } from "node:tls";
import pRetry from "p-retry";
import { CONNECTION_ERRORS, describeTlsCode } from "./net-errors.ts";
import type { CheckResult } from "./types.ts";

export interface TlsCheckOptions {
  url: URL;
  /** Trust store with extra CAs; the system store when undefined. */
  secureContext?: SecureContext;
  minDaysValid: number;
  timeoutMs: number;
  retries: number;
  backoffMs: number;
  deadline: AbortSignal;
  /** Why `deadline` fired: the deadline itself or the caller cancelling. */
  stopped: () => string;
  now?: () => Date;
}

const DAY_MS = 24 * 60 * 60 * 1000;

interface Peer {
  cert: PeerCertificate;
  authorized: boolean;
  authorizationError?: string;
}

/** A handshake that did not complete; `code` decides whether it is retried. */
class HandshakeError extends Error {
  readonly code: string;
  constructor(message: string, code: string) {
    super(message);
    this.code = code;
  }
}

export async function runTlsCheck(name: string, opts: TlsCheckOptions): Promise<CheckResult> {
  const started = performance.now();
  let attempts = 0;
  const result = (ok: boolean, reason?: string): CheckResult => ({
    name,
    ok,
    latencyMs: Math.round(performance.now() - started),
    reason,
    attempts,
  });
  const host = opts.url.hostname.replace(/^\[|\]$/g, "");
  let peer: Peer;
  try {
    peer = await pRetry(
      () => {
        attempts++;
        return handshake(host, Number(opts.url.port || 443), opts);
      },
      {
        retries: opts.retries,
        minTimeout: opts.backoffMs,
        factor: 2,
        randomize: true,
        signal: opts.deadline,
        shouldRetry: ({ error }) => error instanceof HandshakeError && CONNECTION_ERRORS.has(error.code),
      },
    );
  } catch (err) {
    if (opts.deadline.aborted) return result(false, opts.stopped());
    const tries = attempts > 1 ? ` after ${attempts} attempts` : "";
    if (!(err instanceof HandshakeError)) return result(false, String(err));
    if (err.code === "TIMEOUT") return result(false, err.message);
    return result(false, `TLS connection failed (${err.code})${tries}: is the service up and the URL right?`);
  }
  if (!peer.authorized) {
    return result(
      false,
      `certificate not trusted: ${describeTlsCode(peer.authorizationError ?? "unknown reason")}; expected a chain to a trusted CA`,
    );
  }
  const identity = checkServerIdentity(host, peer.cert);
  if (identity) return result(false, `certificate is not valid for ${host}: ${identity.message}`);
  const validTo = new Date(peer.cert.valid_to);
  const daysLeft = Math.floor((validTo.getTime() - (opts.now?.() ?? new Date()).getTime()) / DAY_MS);
  if (daysLeft < opts.minDaysValid) {
    const when = validTo.toISOString().slice(0, 10);
    return result(
      false,
      `certificate expires ${when} (in ${Math.max(daysLeft, 0)} days), expected at least ${opts.minDaysValid} days left`,
    );
  }
  return result(true);
}

/** Completes a TLS handshake without rejecting the certificate, so the verdict can say exactly what is wrong with it. */
function handshake(host: string, port: number, opts: TlsCheckOptions): Promise<Peer> {
  return new Promise<Peer>((resolve, reject) => {
    const timeout = AbortSignal.timeout(opts.timeoutMs);
    const signal = AbortSignal.any([timeout, opts.deadline]);
    const socket = connect({
      host,
      port,
      // SNI must not carry an IP address.
      servername: isIP(host) ? undefined : host,
      secureContext: opts.secureContext,
      rejectUnauthorized: false,
      // Identity is checked afterwards with the same function, so a mismatch gets its own reason.
      checkServerIdentity: () => undefined,
    });
    const onAbort = () => socket.destroy(new Error("aborted"));
    signal.addEventListener("abort", onAbort, { once: true });
    socket.once("close", () => signal.removeEventListener("abort", onAbort));
    socket.once("secureConnect", () => {
      const error = socket.authorizationError as Error | string | undefined;
      resolve({
        cert: socket.getPeerCertificate(),
        authorized: socket.authorized,
        authorizationError: error instanceof Error ? error.message : error,
      });
      socket.end();
    });
    socket.once("error", (err: NodeJS.ErrnoException) => {
      socket.destroy();
      if (timeout.aborted && !opts.deadline.aborted) reject(new HandshakeError(`no TLS handshake within ${opts.timeoutMs} ms`, "TIMEOUT"));
      else reject(new HandshakeError(err.message, err.code ?? err.message));
    });
  });
}
