/** Network error codes: which failures are worth a retry, and TLS verification codes in words. */

/**
 * Connection errors that prove the request was never sent: no connection was made. Only these are retried for a
 * request that is not safe to repeat (POST, PUT, PATCH, DELETE).
 */
export const NOT_SENT_ERRORS = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "UND_ERR_CONNECT_TIMEOUT"]);

/**
 * Errors where no answer came because the connection itself failed: these, and only these, are retried for GET,
 * HEAD and OPTIONS. A reset, broken pipe or closed socket may come after the service received the whole request.
 */
export const CONNECTION_ERRORS = new Set([...NOT_SENT_ERRORS, "ECONNRESET", "EPIPE", "ETIMEDOUT", "UND_ERR_SOCKET", "UND_ERR_CLOSED"]);

/** Methods whose request may be sent twice without harm. */
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** Whether a request with `method` that failed with error `code` may be sent again. */
export function isRetryable(method: string, code: string | undefined): boolean {
  if (code === undefined) return false;
  return SAFE_METHODS.has(method.toUpperCase()) ? CONNECTION_ERRORS.has(code) : NOT_SENT_ERRORS.has(code);
}

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

/** The code of a network error, looking through undici's wrapping and happy-eyeballs AggregateErrors. */
export function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && code !== "UND_ERR_ABORTED") return code;
    if (e instanceof AggregateError && e.errors.length) e = e.errors[0];
    else e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
