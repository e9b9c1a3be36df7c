/**
 * The kubeconfig rewrite for the host service: kind's kubeconfig names https://127.0.0.1:PORT, which inside a
 * Dagger container is the container itself; the toolbox reaches the API server as the bound host `kube-api:PORT`,
 * keeping kind's CA and credentials and verifying the certificate as `localhost`. Proven over real TLS against a
 * stand-in API server whose certificate names only localhost and kubernetes, reached at 127.0.0.1 (playing the
 * bound host, a name the certificate does not carry), the way kind's is reached at kube-api.
 */
import * as k8s from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import { kubeFromConfig } from "#src/kube/client.ts";
import { applyDaggerRedirect, connectCluster } from "#src/kube/connect.ts";
import { cliClusterEnv, kubeApiRoute, reachKind, tokenKubeconfig } from "#src/rehearsal/kube-api.ts";
import { fakeApiServer, kindKubeconfig, kindNodes, kindPki, type FakeApiServer } from "./support/fake-kind.ts";

const NAME = "release-gate-rehearsal";
let server: FakeApiServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const listNodes = (kc: k8s.KubeConfig) => kubeFromConfig(kc, { retry: false }).core.listNode();

describe("kind's kubeconfig through the bound host service", () => {
  it("points at the bound host, verifies as localhost, and keeps kind's CA and client certificate", async () => {
    const pki = await kindPki();
    const text = kindKubeconfig(pki, NAME, 6443);
    const kc = reachKind(text, kubeApiRoute({ RELEASE_GATE_KUBE_API: "kube-api:6443" }));
    const cluster = kc.getCurrentCluster()!;
    expect(cluster).toMatchObject({ name: `kind-${NAME}`, server: "https://kube-api:6443", tlsServerName: "localhost" });
    expect(Buffer.from(cluster.caData!, "base64").toString()).toBe(pki.caPem);
    expect(Buffer.from(kc.getCurrentUser()!.certData!, "base64").toString()).toBe(pki.client.cert);
  });

  it("connects over TLS with the TLS server name, and fails without it (the bound host is not in the certificate)", async () => {
    const pki = await kindPki();
    server = await fakeApiServer(pki, kindNodes(NAME));
    const text = kindKubeconfig(pki, NAME, server.port);
    const reached = reachKind(
      text,
      kubeApiRoute({ RELEASE_GATE_KUBE_API: `127.0.0.1:${server.port}`, RELEASE_GATE_TLS_SERVER_NAME: "localhost" }),
    );
    expect((await listNodes(reached)).items.map((n) => n.metadata?.name)).toEqual([`${NAME}-control-plane`]);
    const plain = new k8s.KubeConfig();
    plain.loadFromOptions({
      clusters: reached.clusters.map((c) => ({ ...c, tlsServerName: undefined })),
      users: reached.users,
      contexts: reached.contexts,
      currentContext: reached.currentContext,
    });
    const err = (await listNodes(plain).catch((e: Error) => e)) as Error & { cause?: { code?: string } };
    expect(err.cause?.code).toBe("ERR_TLS_CERT_ALTNAME_INVALID");
    expect(server.requests).toEqual(["GET /api/v1/nodes"]);
  });

  it(
    "gives the CLI the same three variables `dagger call --kubeconfig --kube-api --tls-server-name` gives it, " +
      "which it turns into the same connection",
    async () => {
      const pki = await kindPki();
      const text = kindKubeconfig(pki, NAME, 6443);
      const route = kubeApiRoute({ RELEASE_GATE_KUBE_API: "kube-api:6443", RELEASE_GATE_TLS_SERVER_NAME: "localhost" });
      const env = cliClusterEnv(text, route);
      expect(Object.keys(env).sort()).toEqual(["RELEASE_GATE_KUBECONFIG", "RELEASE_GATE_KUBE_API", "RELEASE_GATE_TLS_SERVER_NAME"]);
      const viaCli = applyDaggerRedirect(await connectCluster({}, env), env);
      expect(viaCli.server).toBe("https://127.0.0.1:6443"); // what the kubeconfig names: what a cluster pin is checked against
      expect(viaCli.kc.getCurrentCluster()).toEqual(reachKind(text, route).getCurrentCluster());
    },
  );

  it("refuses to start without the host service's address", () => {
    expect(() => kubeApiRoute({})).toThrow(expect.objectContaining({ exitCode: 2 }));
    expect(() => kubeApiRoute({ RELEASE_GATE_KUBE_API: "kube-api" })).toThrow(/RELEASE_GATE_KUBE_API=host:port/);
    expect(kubeApiRoute({ RELEASE_GATE_KUBE_API: "kube-api:7443" })).toEqual({
      hostPort: "kube-api:7443",
      port: 7443,
      tlsServerName: "localhost",
    });
  });
});

describe("the ServiceAccount kubeconfig the CLI releases with", () => {
  it("is kind's cluster and CA with a bearer token instead of the admin certificate", async () => {
    const pki = await kindPki();
    server = await fakeApiServer(pki, kindNodes(NAME), { tokens: true });
    const text = tokenKubeconfig(kindKubeconfig(pki, NAME, server.port), "release-gate", "sa-token-123");
    expect(text).not.toContain(Buffer.from(pki.client.key).toString("base64").slice(0, 24));
    const kc = reachKind(text, kubeApiRoute({ RELEASE_GATE_KUBE_API: `127.0.0.1:${server.port}` }));
    expect(kc.getCurrentUser()).toMatchObject({ name: "release-gate", token: "sa-token-123" });
    await listNodes(kc);
    expect(server.authorizations).toEqual(["Bearer sa-token-123"]);
  });
});
