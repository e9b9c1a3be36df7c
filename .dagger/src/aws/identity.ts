/** Who the AWS credentials belong to (sts:GetCallerIdentity), checked at preflight and recorded as "deployed as". */
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { clientConfig, type AwsClientOptions } from "./client-config.ts";
import { awsError } from "./errors.ts";

export interface CallerIdentity {
  /** The principal, e.g. arn:aws:sts::123456789012:assumed-role/release-gate-deployer/gha-42. */
  arn: string;
  account: string;
}

export async function callerIdentity(o: AwsClientOptions): Promise<CallerIdentity> {
  const client = new STSClient(clientConfig(o));
  try {
    const out = await client.send(new GetCallerIdentityCommand({}));
    if (!out.Arn || !out.Account) throw new Error("STS answered without an ARN");
    return { arn: out.Arn, account: out.Account };
  } catch (err) {
    // GetCallerIdentity needs no IAM permission: a denial means the credentials themselves are not allowed (an SCP).
    throw awsError(
      err,
      "reading who the AWS credentials belong to (sts:GetCallerIdentity)",
      "an organisation policy blocks these credentials",
    );
  } finally {
    client.destroy();
  }
}
