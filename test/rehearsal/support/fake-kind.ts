/**
 * A stand-in for a kind cluster's API server on 127.0.0.1, as far as TLS and the rehearsal's first reads go: a CA,
 * a server certificate naming only `localhost` and `kubernetes` (no IP address, so reaching it at 127.0.0.1 verifies
 * only with the TLS server name set, as through a Dagger host service), client-certificate authentication like
 * kind's admin user, and a kubeconfig written the way `kind get kubeconfig` writes it. It answers the node list
 * and records every request, so a test can prove nothing else was sent.
 */
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import * as x509 from "@peculiar/x509";
import { stringify } from "yaml";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const DAY = 86_400_000;
type KeyPair = webcrypto.CryptoKeyPair;

async function keys(): Promise<KeyPair> {
  return (await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"])) as KeyPair;
}
async function pemKey(k: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey("pkcs8", k), "PRIVATE KEY");
}

export interface Pki {
  caPem: string;
  server: { cert: string; key: string };
  client: { cert: string; key: string };
}

let serial = 100;
/** A CA like kind's (`kubernetes`), its API server certificate (DNS names only) and an admin client certificate. */
export async function kindPki(): Promise<Pki> {
  const caKeys = await keys();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: (serial++).toString(16),
    name: "CN=kubernetes",
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 30 * DAY),
    signingAlgorithm: alg,
    keys: caKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
    ],
  });
  const issue = async (subject: string, extensions: x509.Extension[]) => {
    const k = await keys();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: (serial++).toString(16),
      subject,
      issuer: ca.subject,
      notBefore: new Date(Date.now() - DAY),
      notAfter: new Date(Date.now() + 30 * DAY),
      signingAlgorithm: alg,
      publicKey: k.publicKey,
      signingKey: caKeys.privateKey,
      extensions,
    });
    return { cert: cert.toString("pem"), key: await pemKey(k.privateKey) };
  };
  return {
    caPem: ca.toString("pem"),
    server: await issue("CN=kube-apiserver", [
      new x509.SubjectAlternativeNameExtension([
        { type: "dns", value: "localhost" },
        { type: "dns", value: "kubernetes" },
      ]),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    ]),
    client: await issue("CN=kubernetes-admin, O=kubeadm:cluster-admins", [
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
    ]),
  };
}

const b64 = (s: string) => Buffer.from(s).toString("base64");

/** The kubeconfig `kind get kubeconfig --name NAME` prints for an API server on 127.0.0.1:PORT. */
export function kindKubeconfig(pki: Pki, name: string, port: number, edit: (kc: any) => void = () => {}): string {
  const kc: any = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: `kind-${name}`, cluster: { server: `https://127.0.0.1:${port}`, "certificate-authority-data": b64(pki.caPem) } }],
    contexts: [{ name: `kind-${name}`, context: { cluster: `kind-${name}`, user: `kind-${name}` } }],
    "current-context": `kind-${name}`,
    preferences: {},
    users: [{ name: `kind-${name}`, user: { "client-certificate-data": b64(pki.client.cert), "client-key-data": b64(pki.client.key) } }],
  };
  edit(kc);
  return stringify(kc);
}

export interface FakeApiServer {
  port: number;
  /** "METHOD path" of every request that got past TLS. */
  requests: string[];
  /** The Authorization header of each request ("" when none). */
  authorizations: string[];
  close(): Promise<void>;
}

/** Nodes as kind names them (`kind://docker/<cluster>/<node>`). */
export function kindNodes(cluster: string, names = [`${cluster}-control-plane`]) {
  return names.map((n) => ({ metadata: { name: n }, spec: { providerID: `kind://docker/${cluster}/${n}` } }));
}

export interface FakeRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}
export type FakeAnswer = { status: number; body: unknown } | undefined;

/**
 * An HTTPS API server that lists `nodes`, has `namespaces`, and answers what `handle` answers (every other path:
 * 404), requiring a client certificate from `pki`'s CA unless `tokens` (then a bearer token is accepted instead,
 * as for a ServiceAccount).
 */
export async function fakeApiServer(
  pki: Pki,
  nodes: unknown[],
  opts: { tokens?: boolean; namespaces?: string[]; handle?: (r: FakeRequest) => FakeAnswer } = {},
): Promise<FakeApiServer> {
  const requests: string[] = [];
  const authorizations: string[] = [];
  const server: Server = createServer(
    { cert: pki.server.cert, key: pki.server.key, ca: pki.caPem, requestCert: true, rejectUnauthorized: !opts.tokens },
    (req, res) => {
      requests.push(`${req.method} ${req.url}`);
      authorizations.push(req.headers.authorization ?? "");
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => answer(req, res, Buffer.concat(chunks).toString()));
    },
  );
  function answer(req: IncomingMessage, res: ServerResponse, body: string) {
    const u = new URL(req.url ?? "/", "https://x");
    const path = u.pathname;
    res.setHeader("Content-Type", "application/json");
    const custom = opts.handle?.({ method: req.method ?? "GET", path, query: u.searchParams, headers: req.headers, body });
    if (custom) {
      res.statusCode = custom.status;
      res.end(JSON.stringify(custom.body));
      return;
    }
    const ns = /^\/api\/v1\/namespaces\/([^/]+)$/.exec(path)?.[1];
    if (req.method === "GET" && path === "/api/v1/nodes") {
      res.end(JSON.stringify({ apiVersion: "v1", kind: "NodeList", metadata: {}, items: nodes }));
    } else if (req.method === "GET" && ns && opts.namespaces?.includes(ns)) {
      res.end(JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns }, status: { phase: "Active" } }));
    } else {
      res.statusCode = 404;
      res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", code: 404, reason: "NotFound" }));
    }
  }
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    authorizations,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
