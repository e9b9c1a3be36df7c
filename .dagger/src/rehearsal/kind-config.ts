/**
 * The kind cluster's config (kubernetes/local/kind.yaml) for one rehearsal: the file's node image and port mapping,
 * with the cluster name and the two host ports the rehearsal was given (--kube-api for the API server, --edge for
 * the router), checked to listen on loopback only. Plain data in, YAML out.
 */
import { parse, stringify } from "yaml";
import { z } from "zod";
import { UsageError } from "../errors.ts";

/** The router's NodePort inside the cluster, which kind.yaml maps to the host's edge port (see kubernetes/local/routers/). */
export const EDGE_NODE_PORT = 30080;

/** Docker binds host ports to IP addresses: the loopback ones are 127.0.0.0/8 and ::1. */
export function isLoopbackIp(address: string): boolean {
  return address === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address);
}

const portMapping = z.looseObject({
  containerPort: z.number().int(),
  hostPort: z.number().int().optional(),
  listenAddress: z.string().optional(),
  protocol: z.string().optional(),
});

const kindConfigSchema = z.looseObject({
  kind: z.literal("Cluster"),
  apiVersion: z.literal("kind.x-k8s.io/v1alpha4"),
  name: z.string().optional(),
  networking: z.looseObject({ apiServerAddress: z.string().optional(), apiServerPort: z.number().int().optional() }).optional(),
  nodes: z
    .array(z.looseObject({ role: z.string(), image: z.string().optional(), extraPortMappings: z.array(portMapping).optional() }))
    .min(1),
});
export type KindConfig = z.output<typeof kindConfigSchema>;

export interface KindConfigFor {
  /** The kind cluster's name (DNS label). */
  name: string;
  /** The host port the API server is mapped to: the port of --kube-api. */
  apiServerPort: number;
  /** The host port the router's NodePort is mapped to: the port of --edge. */
  edgePort: number;
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,48}[a-z0-9])?$/;

/** Refuses a cluster name kind (and the container names it derives) would not take. */
export function checkClusterName(name: string): void {
  if (!DNS_LABEL.test(name)) {
    throw new UsageError(
      `refused cluster name ${JSON.stringify(name)}: kind takes lower-case letters, digits and '-', at most 50 characters, ` +
        `starting and ending with a letter or digit; nothing was created`,
    );
  }
}

/**
 * kind.yaml's text with the rehearsal's name and ports, refused (exit 2, nothing created) when the file would expose
 * anything beyond loopback or lacks the edge mapping. Returns the YAML to give `kind create cluster --config`.
 */
export function kindConfigFor(text: string, o: KindConfigFor, source = "kubernetes/local/kind.yaml"): string {
  checkClusterName(o.name);
  for (const [what, port] of [
    ["--kube-api", o.apiServerPort],
    ["--edge", o.edgePort],
  ] as const) {
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new UsageError(`refused ${what} port ${port}: not a TCP port; nothing was created`);
  }
  if (o.apiServerPort === o.edgePort) {
    throw new UsageError(`refused: --kube-api and --edge name the same port ${o.edgePort}; they need one each; nothing was created`);
  }
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    throw new UsageError(`${source} is not YAML: ${(err as Error).message.split("\n")[0]}; nothing was created`);
  }
  const r = kindConfigSchema.safeParse(raw);
  if (!r.success) throw new UsageError(`${source} is not a kind v1alpha4 Cluster config:\n${z.prettifyError(r.error)}`);
  const cfg = r.data;
  const problems: string[] = [];
  const address = cfg.networking?.apiServerAddress ?? "127.0.0.1";
  if (!isLoopbackIp(address)) problems.push(`networking.apiServerAddress is ${address}, not loopback (127.0.0.1)`);
  let edge = 0;
  cfg.nodes.forEach((n, i) =>
    (n.extraPortMappings ?? []).forEach((m, j) => {
      const where = `nodes[${i}].extraPortMappings[${j}]`;
      // kind's own default listenAddress is 0.0.0.0: every interface.
      if (!isLoopbackIp(m.listenAddress ?? "0.0.0.0"))
        problems.push(`${where}.listenAddress is ${m.listenAddress ?? "unset (0.0.0.0)"}, not 127.0.0.1`);
      if (m.containerPort === EDGE_NODE_PORT) edge++;
    }),
  );
  if (edge !== 1)
    problems.push(`it needs exactly one extraPortMapping of containerPort ${EDGE_NODE_PORT} (the router's NodePort), found ${edge}`);
  if (problems.length) {
    throw new UsageError(
      `refused ${source}: a rehearsal cluster listens on this machine's loopback only; ${problems.join("; ")}; nothing was created`,
    );
  }
  const out = {
    ...cfg,
    name: o.name,
    networking: { ...cfg.networking, apiServerAddress: address, apiServerPort: o.apiServerPort },
    nodes: cfg.nodes.map((n) =>
      n.extraPortMappings
        ? {
            ...n,
            extraPortMappings: n.extraPortMappings.map((m) => (m.containerPort === EDGE_NODE_PORT ? { ...m, hostPort: o.edgePort } : m)),
          }
        : n,
    ),
  };
  return stringify(out);
}

/** The node image kind.yaml pins (for the timeline), if one. */
export function kindNodeImage(text: string): string | undefined {
  const r = kindConfigSchema.safeParse(parse(text));
  return r.success ? r.data.nodes.find((n) => n.image)?.image : undefined;
}
