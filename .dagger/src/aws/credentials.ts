/**
 * AWS credentials from the SDK's standard chain (`@aws-sdk/credential-providers`): environment variables, a web
 * identity token file with a role ARN (how the Dagger functions pass a GitHub OIDC token), shared config and
 * credentials files (AWS_PROFILE, SSO), then container and instance roles. No credential logic of our own.
 */
import { fromNodeProviderChain } from "@aws-sdk/credential-providers";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";

export type { AwsCredentialIdentity, AwsCredentialIdentityProvider };

/** The standard chain, memoised by the SDK (temporary credentials are refreshed before they expire). */
export function standardCredentials(region: string): AwsCredentialIdentityProvider {
  // The web-identity provider calls STS AssumeRoleWithWebIdentity in the cluster's region.
  return fromNodeProviderChain({ clientConfig: { region } });
}
