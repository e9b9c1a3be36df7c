/**
 * A @kubernetes/client-node authenticator that puts a fresh EKS bearer token on every request, so a release that
 * runs longer than the token's 15 minutes keeps working (an `exec` kubeconfig entry would need the AWS CLI in the
 * toolbox and a process per refresh). One token is shared by concurrent requests and re-minted once it is
 * REFRESH_AFTER_MS old, well inside its lifetime, leaving room for clock skew and slow requests.
 */
import type { User } from "@kubernetes/client-node";
import type { AwsCredentialIdentityProvider } from "./credentials.ts";
import { eksToken, type EksToken } from "./eks-token.ts";

/** The kubeconfig user name this authenticator answers for. */
export const EKS_USER = "release-gate-eks";
/** A token is replaced once it is this old (it is valid for 15 minutes). */
export const REFRESH_AFTER_MS = 10 * 60_000;

export interface EksAuthOptions {
  cluster: string;
  region: string;
  credentials: AwsCredentialIdentityProvider;
  /** The clock (tests use a fake one). */
  now?: () => Date;
}

export class EksTokenAuthenticator {
  readonly #o: EksAuthOptions;
  #current: EksToken | undefined;
  #minting: Promise<EksToken> | undefined;
  /** How many tokens were minted (tests read it). */
  minted = 0;

  constructor(o: EksAuthOptions) {
    this.#o = o;
  }

  isAuthProvider(user: User): boolean {
    return user.name === EKS_USER;
  }

  async applyAuthentication(_user: User, opts: { headers?: Record<string, unknown> | object }): Promise<void> {
    const token = await this.token();
    opts.headers = { ...(opts.headers as Record<string, unknown> | undefined), Authorization: `Bearer ${token}` };
  }

  /** The current token, minted anew when there is none or it is REFRESH_AFTER_MS old. */
  async token(): Promise<string> {
    const now = (this.#o.now ?? (() => new Date()))().getTime();
    if (this.#current && now - this.#current.issuedAt.getTime() < REFRESH_AFTER_MS) return this.#current.token;
    this.#minting ??= eksToken(this.#o)
      .then((t) => {
        this.minted++;
        this.#current = t;
        return t;
      })
      .finally(() => (this.#minting = undefined));
    return (await this.#minting).token;
  }
}
