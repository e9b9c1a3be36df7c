/**
 * One HTTPS server on 127.0.0.1 standing in for AWS STS (query protocol, POST /), EKS (REST JSON,
 * GET /clusters/NAME) and an EKS cluster's Kubernetes API (any other path), with a certificate from the test CA.
 * Answers are scripted per service, so a test can make STS answer ExpiredToken or throttle N times; every request
 * is recorded (service, path, Authorization header).
 */
import { once } from "node:events";
import { Agent, createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { makePki, type TestPki } from "../../support/certs.ts";

export type Service = "sts" | "eks" | "kube";

export interface Answer {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

export interface StandIn {
  url: string;
  pki: TestPki;
  /** Trusts the test CA: pass as an AWS client's `requestHandler: { httpsAgent }`. */
  httpsAgent: Agent;
  requests: Array<{ service: Service; method: string; path: string; authorization?: string; body: string }>;
  /** The next answers of a service, used once each, in order, before its default answer. */
  script(service: Service, ...answers: Answer[]): void;
  close(): Promise<void>;
}

export const ACCOUNT = "123456789012";
export const PRINCIPAL = `arn:aws:sts::${ACCOUNT}:assumed-role/release-gate-deployer/gha-run-42`;
export const CLUSTER = "qualisys-prod";
export const REGION = "eu-west-1";
export const CLUSTER_ARN = `arn:aws:eks:${REGION}:${ACCOUNT}:cluster/${CLUSTER}`;

const STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/";

export function stsIdentity(arn = PRINCIPAL): Answer {
  return {
    status: 200,
    headers: { "content-type": "text/xml" },
    body:
      `<GetCallerIdentityResponse xmlns="${STS_NS}"><GetCallerIdentityResult><Arn>${arn}</Arn>` +
      `<UserId>AROAEXAMPLE:gha-run-42</UserId><Account>${ACCOUNT}</Account></GetCallerIdentityResult>` +
      `<ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
  };
}

export function stsError(status: number, code: string, message: string): Answer {
  return {
    status,
    headers: { "content-type": "text/xml" },
    body:
      `<ErrorResponse xmlns="${STS_NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error>` +
      `<RequestId>r-2</RequestId></ErrorResponse>`,
  };
}

export function eksError(status: number, type: string, message: string): Answer {
  return { status, headers: { "content-type": "application/json", "x-amzn-errortype": type }, body: JSON.stringify({ message }) };
}

export async function startStandIn(): Promise<StandIn> {
  const pki = await makePki();
  const scripts: Record<Service, Answer[]> = { sts: [], eks: [], kube: [] };
  const requests: StandIn["requests"] = [];
  let url = "";
  const server: Server = createServer({ cert: pki.valid.cert, key: pki.valid.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString();
      const path = req.url ?? "/";
      const service: Service = req.method === "POST" && path === "/" ? "sts" : path.startsWith("/clusters/") ? "eks" : "kube";
      requests.push({
        service,
        method: req.method ?? "",
        path,
        ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
        body,
      });
      const answer = scripts[service].shift() ?? defaultAnswer(service, path);
      res.writeHead(answer.status, answer.headers ?? { "content-type": "application/json" });
      res.end(answer.body);
    });
  });
  function defaultAnswer(service: Service, path: string): Answer {
    if (service === "sts") return stsIdentity();
    if (service === "eks") {
      const name = decodeURIComponent(path.split("/")[2] ?? "");
      if (name !== CLUSTER) return eksError(404, "ResourceNotFoundException", `No cluster found for name: ${name}.`);
      return {
        status: 200,
        body: JSON.stringify({
          cluster: {
            name,
            arn: CLUSTER_ARN,
            status: "ACTIVE",
            endpoint: url,
            certificateAuthority: { data: Buffer.from(pki.ca).toString("base64") },
          },
        }),
      };
    }
    // The Kubernetes API: a namespace, for a client-node read.
    return { status: 200, body: JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: path.split("/").pop() } }) };
  }
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const httpsAgent = new Agent({ ca: pki.ca, keepAlive: false });
  return {
    url,
    pki,
    httpsAgent,
    requests,
    script: (service, ...answers) => scripts[service].push(...answers),
    close: async () => {
      httpsAgent.destroy();
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}
