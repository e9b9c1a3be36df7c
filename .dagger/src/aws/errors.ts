/**
 * AWS failures as one line a person can act on. Credentials that are missing, expired, unknown or not allowed are
 * refused (exit 2: nothing in the cluster was touched); throttling and network trouble that outlasted the SDK's own
 * retries are failures (exit 1). Never a stack of SDK internals, never a credential.
 */
import { FailedError, UsageError } from "../errors.ts";

const NOTHING_CHANGED = "nothing was changed in the cluster";

const EXPIRED = new Set(["ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"]);
const DENIED = new Set(["AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedException"]);
const UNKNOWN_CREDENTIALS = new Set([
  "InvalidClientTokenId",
  "UnrecognizedClientException",
  "SignatureDoesNotMatch",
  "IncompleteSignature",
]);
const THROTTLED = new Set(["Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded", "SlowDown"]);

/** The parts of an SDK error this looks at; `$metadata.attempts` counts the SDK's own retries. */
interface AwsErrorLike {
  name?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
}

/**
 * `what` names the call in the user's terms ("reading who the AWS credentials belong to (sts:GetCallerIdentity)").
 * `hint` is what fixes an AccessDenied (the IAM permission the call needs); `outcome` ends the line (what was not done).
 */
export function awsError(err: unknown, what: string, hint = "", outcome = NOTHING_CHANGED): UsageError | FailedError {
  const NOTHING = outcome;
  const e = (err ?? {}) as AwsErrorLike;
  const code = e.name === "Error" || !e.name ? (e.Code ?? "") : e.name;
  const first = (e.message ?? String(err)).split("\n")[0].slice(0, 300);
  if (code === "CredentialsProviderError" || /Could not load credentials/i.test(first)) {
    return new UsageError(
      `${what} failed: no AWS credentials found (checked the environment, web identity token file, shared profiles, SSO and the container's role); ` +
        `set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY(/AWS_SESSION_TOKEN), AWS_ROLE_ARN with AWS_WEB_IDENTITY_TOKEN_FILE, or AWS_PROFILE; ${NOTHING}`,
    );
  }
  if (EXPIRED.has(code)) {
    return new UsageError(
      `${what} failed: the AWS credentials have expired (${code}); get fresh ones ` +
        `(re-run aws-actions/configure-aws-credentials, \`aws sso login\`, or a new OIDC token) and run again; ${NOTHING}`,
    );
  }
  if (DENIED.has(code)) {
    return new UsageError(`${what} was denied by AWS (${code})${hint ? `: ${hint}` : ""}; ${NOTHING}`);
  }
  if (UNKNOWN_CREDENTIALS.has(code)) {
    return new UsageError(
      `${what} failed: AWS does not accept these credentials (${code}): a wrong or revoked access key, or a secret key that does not match it; ${NOTHING}`,
    );
  }
  if (code === "ResourceNotFoundException") {
    return new UsageError(`${what} failed: ${first}; check --eks-cluster and --aws-region; ${NOTHING}`);
  }
  if (THROTTLED.has(code) || e.$metadata?.httpStatusCode === 429) {
    const attempts = e.$metadata?.attempts;
    const times = attempts ? ` ${attempts} times in a row` : "";
    return new FailedError(
      `${what} failed: AWS throttled the request (${code || "HTTP 429"})${times}; wait a minute and run again; ${NOTHING}`,
    );
  }
  return new FailedError(`${what} failed: ${code ? `${code}: ` : ""}${first}; ${NOTHING}`);
}
