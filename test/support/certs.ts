/**
 * Certificates for the HTTPS tests, made fresh per run with @peculiar/x509 on Node's WebCrypto: a test CA (trusted
 * through the runner's `ca` option), a leaf it signs for 127.0.0.1/localhost, one that expires in a few days, and
 * a self-signed leaf nobody trusts.
 */
// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API loaded first.
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type KeyPair = webcrypto.CryptoKeyPair;

const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const DAY = 24 * 60 * 60 * 1000;

export interface Pem {
  cert: string;
  key: string;
}

async function pemKey(key: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey("pkcs8", key), "PRIVATE KEY");
}

let serial = 1;
const nextSerial = () => (serial++).toString(16).padStart(2, "0");

async function leaf(opts: { issuer?: { cert: x509.X509Certificate; keys: KeyPair }; days: number; name?: string }): Promise<Pem> {
  const keys = (await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"])) as KeyPair;
  const name = `CN=${opts.name ?? "localhost"}`;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: nextSerial(),
    subject: name,
    issuer: opts.issuer?.cert.subject ?? name,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + opts.days * DAY),
    signingAlgorithm: alg,
    publicKey: keys.publicKey,
    signingKey: opts.issuer?.keys.privateKey ?? keys.privateKey,
    extensions: [
      new x509.SubjectAlternativeNameExtension([
        { type: "ip", value: "127.0.0.1" },
        { type: "dns", value: opts.name ?? "localhost" },
      ]),
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    ],
  });
  return { cert: cert.toString("pem"), key: await pemKey(keys.privateKey) };
}

export interface TestPki {
  /** The CA certificate to pass as the runner's `ca`. */
  ca: string;
  /** Signed by the CA, 90 days left. */
  valid: Pem;
  /** Signed by the CA, 3 days left. */
  expiringSoon: Pem;
  /** Self-signed, trusted by nobody. */
  selfSigned: Pem;
  /** Signed by the CA for another host name only. */
  wrongHost: Pem;
}

export async function makePki(): Promise<TestPki> {
  const caKeys = (await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"])) as KeyPair;
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: nextSerial(),
    name: "CN=release-gate test CA",
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 365 * DAY),
    signingAlgorithm: alg,
    keys: caKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  const issuer = { cert: caCert, keys: caKeys };
  return {
    ca: caCert.toString("pem"),
    valid: await leaf({ issuer, days: 90 }),
    expiringSoon: await leaf({ issuer, days: 3 }),
    selfSigned: await leaf({ days: 90 }),
    wrongHost: await wrongHostLeaf(issuer),
  };
}

/** A leaf naming only app.example.com: no 127.0.0.1 SAN, so a request to 127.0.0.1 must not accept it. */
async function wrongHostLeaf(issuer: { cert: x509.X509Certificate; keys: KeyPair }): Promise<Pem> {
  const keys = (await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"])) as KeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: nextSerial(),
    subject: "CN=app.example.com",
    issuer: issuer.cert.subject,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 90 * DAY),
    signingAlgorithm: alg,
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: "dns", value: "app.example.com" }])],
  });
  return { cert: cert.toString("pem"), key: await pemKey(keys.privateKey) };
}
