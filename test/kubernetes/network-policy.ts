/**
 * Whether rendered NetworkPolicies let a pod in one namespace reach a pod's port, by the rules of the
 * NetworkPolicy API: a pod selected by no Ingress policy takes anything; once selected, traffic is admitted when
 * any rule of any selecting policy admits it (policies add up). The source is a router's data-plane pod, of which
 * only the namespace is known: a peer admits it only through a namespaceSelector (on the automatic
 * `kubernetes.io/metadata.name` label) with no podSelector narrowing it, or a rule with no `from` (any source).
 */

type Labels = Record<string, string>;
interface Selector {
  matchLabels?: Labels;
  matchExpressions?: Array<{ key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; values?: string[] }>;
}
interface Peer {
  namespaceSelector?: Selector;
  podSelector?: Selector;
  ipBlock?: unknown;
}
interface NetworkPolicy {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec: {
    podSelector: Selector;
    policyTypes?: string[];
    ingress?: Array<{ from?: Peer[]; ports?: Array<{ protocol?: string; port?: number | string }> }>;
  };
}

export function selects(selector: Selector, labels: Labels): boolean {
  const byLabel = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpression = (selector.matchExpressions ?? []).every((e) => {
    const has = Object.hasOwn(labels, e.key);
    if (e.operator === "In") return has && (e.values ?? []).includes(labels[e.key]!);
    if (e.operator === "NotIn") return !has || !(e.values ?? []).includes(labels[e.key]!);
    if (e.operator === "Exists") return has;
    return !has;
  });
  return byLabel && byExpression;
}

const portMatches = (ports: Array<{ protocol?: string; port?: number | string }> | undefined, port: number, portName: string) =>
  !ports?.length || ports.some((p) => (p.protocol ?? "TCP") === "TCP" && (p.port === undefined || p.port === port || p.port === portName));

const peerAdmitsNamespace = (peer: Peer, namespace: string) =>
  !peer.ipBlock &&
  peer.namespaceSelector !== undefined &&
  selects(peer.namespaceSelector, { "kubernetes.io/metadata.name": namespace }) &&
  (peer.podSelector === undefined || JSON.stringify(peer.podSelector) === "{}");

/**
 * Whether any pod of `fromNamespace` may reach TCP `port` (named `portName`) of a pod labelled `to` in `namespace`,
 * under the NetworkPolicies among `objects` (rendered manifests of any kind).
 */
export function admitsFromNamespace(
  objects: ReadonlyArray<{ kind: string }>,
  o: { fromNamespace: string; namespace: string; to: Labels; port: number; portName: string },
): boolean {
  const policies = objects.filter((o): o is NetworkPolicy => o.kind === "NetworkPolicy");
  const selecting = policies.filter(
    (p) =>
      p.metadata.namespace === o.namespace && (p.spec.policyTypes ?? ["Ingress"]).includes("Ingress") && selects(p.spec.podSelector, o.to),
  );
  if (selecting.length === 0) return true;
  return selecting.some((p) =>
    (p.spec.ingress ?? []).some(
      (rule) =>
        portMatches(rule.ports, o.port, o.portName) &&
        (!rule.from?.length || rule.from.some((peer) => peerAdmitsNamespace(peer, o.fromNamespace))),
    ),
  );
}
