/**
 * The Prometheus credential, resolved once before the release starts: from an environment variable named in
 * release.yaml, or from a key of a Kubernetes Secret in the release's namespace (read through the API). The
 * value only ever becomes an Authorization header: it is never printed, recorded or put in an error.
 */
import type { ReleaseConfig } from "../config/schema.ts";
import { UsageError } from "../errors.ts";
import { describeApiError, statusOf } from "../kube/api-errors.ts";
import type { Kube } from "../kube/client.ts";

type Analysis = NonNullable<ReleaseConfig["analysis"]>;
type Credential = NonNullable<NonNullable<Analysis["prometheus"]["auth"]>["bearerToken"]>;

export interface CredentialSources {
  kube: Kube;
  namespace: string;
  env: NodeJS.ProcessEnv;
}

async function readCredential(c: Credential, where: string, src: CredentialSources): Promise<string> {
  if ("env" in c) {
    const value = src.env[c.env];
    if (!value) throw new UsageError(`${where}: environment variable ${c.env} is not set (or empty); nothing was changed`);
    return value;
  }
  const { name, key } = c.secret;
  let data: Record<string, string> | undefined;
  try {
    data = (await src.kube.core.readNamespacedSecret({ name, namespace: src.namespace })).data;
  } catch (err) {
    // The base Role grants no Secret: reading one is opt-in (kubernetes/production/components/analysis-secret).
    const grant =
      statusOf(err) === 403
        ? `: the release-gate Role in namespace ${src.namespace} needs verb "get" on secrets, resourceNames [${name}] ` +
          `(enable the kustomize component kubernetes/production/components/analysis-secret; docs/analysis.md)`
        : "";
    throw new UsageError(`${where}: cannot read Secret ${src.namespace}/${name} (${describeApiError(err)})${grant}; nothing was changed`);
  }
  const encoded = data?.[key];
  if (!encoded) throw new UsageError(`${where}: Secret ${src.namespace}/${name} has no key "${key}"; nothing was changed`);
  return Buffer.from(encoded, "base64").toString("utf8").trim();
}

/** The Authorization header value for analysis.prometheus.auth, or undefined without auth. Throws UsageError. */
export async function resolveAuthorization(analysis: Analysis, src: CredentialSources): Promise<string | undefined> {
  const auth = analysis.prometheus.auth;
  if (!auth) return undefined;
  if (auth.bearerToken) return `Bearer ${await readCredential(auth.bearerToken, "analysis.prometheus.auth.bearerToken", src)}`;
  if (auth.basic) {
    const password = await readCredential(auth.basic.password, "analysis.prometheus.auth.basic.password", src);
    return `Basic ${Buffer.from(`${auth.basic.username}:${password}`).toString("base64")}`;
  }
  return undefined;
}
