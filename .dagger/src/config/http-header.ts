/**
 * The one rule for HTTP header names and values (RFC 9110: a name is a `token`; a value is one line), used by
 * release.yaml, smoke suites and command-line options alike.
 */

/** An HTTP header name: a `token` of RFC 9110 section 5.6.2. */
export const HTTP_HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

export const HEADER_NAME_MESSAGE = "must be an HTTP header name (letters, digits and !#$%&'*+.^_`|~-)";

export function isHeaderName(name: string): boolean {
  return HTTP_HEADER_NAME.test(name);
}

/** A header value that cannot split the request: non-empty and on one line. */
export function isHeaderValue(value: string): boolean {
  return value.length > 0 && !/[\r\n]/.test(value);
}
