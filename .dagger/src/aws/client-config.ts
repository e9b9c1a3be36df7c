/**
 * What every AWS client here is built with: the region, the credentials, and for tests an endpoint and a request
 * handler (a local HTTPS stand-in and its CA). In production the SDK's own settings apply, AWS_ENDPOINT_URL_STS /
 * AWS_ENDPOINT_URL_EKS included.
 */
import type { AwsCredentialIdentityProvider } from "./credentials.ts";

export interface AwsClientOptions {
  region: string;
  credentials: AwsCredentialIdentityProvider;
  /** Overrides the service endpoint (tests: https://127.0.0.1:PORT). */
  endpoint?: string;
  /** Passed to the client as is: e.g. `{ httpsAgent }` trusting a test CA. */
  requestHandler?: unknown;
  /** The SDK's attempts per call (default 3, with its own backoff for throttling and 5xx). */
  maxAttempts?: number;
}

export function clientConfig(o: AwsClientOptions) {
  return {
    region: o.region,
    credentials: o.credentials,
    ...(o.endpoint ? { endpoint: o.endpoint } : {}),
    ...(o.requestHandler ? { requestHandler: o.requestHandler as never } : {}),
    ...(o.maxAttempts ? { maxAttempts: o.maxAttempts } : {}),
  };
}
