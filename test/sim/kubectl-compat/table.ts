/**
 * Server-side printing: `meta.k8s.io/v1` Table responses for clients that ask for them (kubectl get without
 * -o json/yaml sends `Accept: application/json;as=Table;g=meta.k8s.io;v=v1`). Columns follow the upstream
 * printers (pkg/printers/internalversion) for the kinds release-gate operators look at; other kinds get the
 * NAME/AGE table the server gives custom resources without printer columns.
 */
import type { KObject, ResourceType } from "../store.ts";
import { selectorString } from "../api/scale.ts";
import type { LabelSelector } from "../api/selectors.ts";

type Obj = Record<string, unknown>;
const o = (v: unknown): Obj => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const num = (v: unknown): number => (typeof v === "number" ? v : 0);

export function wantsTable(accept: string): boolean {
  return accept.split(",").some((p) => {
    const parts = p.split(";").map((s) => s.trim());
    return parts[0] === "application/json" && parts.includes("as=Table") && parts.includes("g=meta.k8s.io");
  });
}

/** Go's duration.HumanDuration, which kubectl's AGE column uses. */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60 * 2) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 60 * 3) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  if (h < 24 * 8) return h % 24 === 0 ? `${Math.floor(h / 24)}d` : `${Math.floor(h / 24)}d${h % 24}h`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24)}d`;
  if (h < 24 * 365 * 8) return `${Math.floor(h / 24 / 365)}y${Math.floor(h / 24) % 365}d`;
  return `${Math.floor(h / 24 / 365)}y`;
}

interface Column {
  name: string;
  type: string;
  format?: string;
  priority?: number;
  cell: (x: KObject, now: number) => unknown;
}

const nameCol: Column = { name: "Name", type: "string", format: "name", cell: (x) => x.metadata.name };
const ageCol: Column = {
  name: "Age",
  type: "string",
  cell: (x, now) => (x.metadata.creationTimestamp ? humanDuration(now - Date.parse(x.metadata.creationTimestamp)) : "<unknown>"),
};
const containersOf = (x: KObject) => arr(o(o(o(x.spec).template).spec).containers).map(o);

const workloadWide: Column[] = [
  {
    name: "Containers",
    type: "string",
    priority: 1,
    cell: (x) =>
      containersOf(x)
        .map((c) => c.name)
        .join(","),
  },
  {
    name: "Images",
    type: "string",
    priority: 1,
    cell: (x) =>
      containersOf(x)
        .map((c) => c.image)
        .join(","),
  },
  { name: "Selector", type: "string", priority: 1, cell: (x) => selectorString(o(x.spec).selector as LabelSelector) || "<none>" },
];

function podStatus(x: KObject): string {
  if (x.metadata.deletionTimestamp) return "Terminating";
  const st = o(x.status);
  for (const cs of arr(st.containerStatuses).map(o)) {
    const waiting = o(o(cs.state).waiting);
    if (typeof waiting.reason === "string") return waiting.reason;
    const terminated = o(o(cs.state).terminated);
    if (typeof terminated.reason === "string") return terminated.reason;
  }
  return typeof st.reason === "string" ? st.reason : typeof st.phase === "string" ? st.phase : "Unknown";
}

/** printPod's RESTARTS: the containers' restart count, with the age of the latest `lastState.terminated.finishedAt` once it restarted. */
function podRestarts(x: KObject, now: number): string {
  const statuses = arr(o(x.status).containerStatuses).map(o);
  const restarts = statuses.reduce((n, c) => n + num(c.restartCount), 0);
  const last = Math.max(0, ...statuses.map((c) => Date.parse(String(o(o(c.lastState).terminated).finishedAt ?? "")) || 0));
  return restarts !== 0 && last > 0 ? `${restarts} (${humanDuration(now - last)} ago)` : String(restarts);
}

/** printPod's READINESS GATES: how many of spec.readinessGates have a True condition, or <none>. */
function readinessGates(x: KObject): string {
  const gates = arr(o(x.spec).readinessGates).map(o);
  if (gates.length === 0) return "<none>";
  const conditions = arr(o(x.status).conditions).map(o);
  const passed = gates.filter((g) => conditions.find((c) => c.type === g.conditionType)?.status === "True").length;
  return `${passed}/${gates.length}`;
}

const COLUMNS: Record<string, Column[]> = {
  "apps/Deployment": [
    nameCol,
    { name: "Ready", type: "string", cell: (x) => `${num(o(x.status).readyReplicas)}/${num(o(x.spec).replicas)}` },
    { name: "Up-to-date", type: "integer", cell: (x) => num(o(x.status).updatedReplicas) },
    { name: "Available", type: "integer", cell: (x) => num(o(x.status).availableReplicas) },
    ageCol,
    ...workloadWide,
  ],
  "apps/ReplicaSet": [
    nameCol,
    { name: "Desired", type: "integer", cell: (x) => num(o(x.spec).replicas) },
    { name: "Current", type: "integer", cell: (x) => num(o(x.status).replicas) },
    { name: "Ready", type: "integer", cell: (x) => num(o(x.status).readyReplicas) },
    ageCol,
    ...workloadWide,
  ],
  "/Pod": [
    nameCol,
    {
      name: "Ready",
      type: "string",
      cell: (x) =>
        `${
          arr(o(x.status).containerStatuses)
            .map(o)
            .filter((c) => c.ready === true).length
        }/${arr(o(x.spec).containers).length}`,
    },
    { name: "Status", type: "string", cell: podStatus },
    { name: "Restarts", type: "string", cell: podRestarts },
    ageCol,
    {
      name: "IP",
      type: "string",
      priority: 1,
      cell: (x) => (o(arr(o(x.status).podIPs)[0]).ip as string | undefined) || (o(x.status).podIP as string | undefined) || "<none>",
    },
    { name: "Node", type: "string", priority: 1, cell: (x) => (o(x.spec).nodeName as string | undefined) || "<none>" },
    { name: "Nominated Node", type: "string", priority: 1, cell: (x) => (o(x.status).nominatedNodeName as string | undefined) || "<none>" },
    { name: "Readiness Gates", type: "string", priority: 1, cell: readinessGates },
  ],
  "/Service": [
    nameCol,
    { name: "Type", type: "string", cell: (x) => o(x.spec).type ?? "ClusterIP" },
    { name: "Cluster-IP", type: "string", cell: (x) => o(x.spec).clusterIP ?? "<none>" },
    { name: "External-IP", type: "string", cell: () => "<none>" },
    {
      name: "Port(s)",
      type: "string",
      cell: (x) =>
        arr(o(x.spec).ports)
          .map(o)
          .map((p) => `${p.port}/${p.protocol ?? "TCP"}`)
          .join(",") || "<none>",
    },
    ageCol,
    {
      name: "Selector",
      type: "string",
      priority: 1,
      cell: (x) =>
        Object.entries(o(o(x.spec).selector))
          .map(([k, v]) => `${k}=${v}`)
          .join(",") || "<none>",
    },
  ],
  "/Namespace": [nameCol, { name: "Status", type: "string", cell: (x) => o(x.status).phase ?? "Active" }, ageCol],
  "/ConfigMap": [
    nameCol,
    { name: "Data", type: "integer", cell: (x) => Object.keys(o(x.data)).length + Object.keys(o(x.binaryData)).length },
    ageCol,
  ],
  "networking.k8s.io/Ingress": [
    nameCol,
    { name: "Class", type: "string", cell: (x) => o(x.spec).ingressClassName ?? "<none>" },
    {
      name: "Hosts",
      type: "string",
      cell: (x) =>
        arr(o(x.spec).rules)
          .map(o)
          .map((r) => r.host ?? "*")
          .join(",") || "*",
    },
    {
      name: "Address",
      type: "string",
      cell: (x) =>
        arr(o(o(x.status).loadBalancer).ingress)
          .map(o)
          .map((i) => i.ip ?? i.hostname)
          .join(","),
    },
    { name: "Ports", type: "string", cell: (x) => (arr(o(x.spec).tls).length ? "80, 443" : "80") },
    ageCol,
  ],
  "/Event": [
    {
      name: "Last Seen",
      type: "string",
      cell: (x, now) => {
        const at = (x.lastTimestamp ?? x.eventTime ?? x.firstTimestamp ?? x.metadata.creationTimestamp) as string | undefined;
        return at ? humanDuration(now - Date.parse(at)) : "<unknown>";
      },
    },
    { name: "Type", type: "string", cell: (x) => x.type ?? "" },
    { name: "Reason", type: "string", cell: (x) => x.reason ?? "" },
    {
      name: "Object",
      type: "string",
      cell: (x) => `${String(o(x.involvedObject).kind ?? "").toLowerCase()}/${String(o(x.involvedObject).name ?? "")}`,
    },
    { name: "Message", type: "string", cell: (x) => String(x.message ?? "").trim() },
  ],
  "coordination.k8s.io/Lease": [nameCol, { name: "Holder", type: "string", cell: (x) => o(x.spec).holderIdentity ?? "" }, ageCol],
  "gateway.networking.k8s.io/HTTPRoute": [
    nameCol,
    { name: "Hostnames", type: "string", cell: (x) => JSON.stringify(arr(o(x.spec).hostnames)) },
    ageCol,
  ],
};

function partialMetadata(x: KObject): unknown {
  const { managedFields: _managed, ...metadata } = x.metadata;
  void _managed;
  return { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata };
}

/** A Table of one object or a list, rows carrying PartialObjectMetadata (what kubectl needs for -A and labels). */
export function tableOf(t: ResourceType, body: unknown, nowIso: string, includeObject = "Metadata", headers = true): unknown {
  const b = o(body);
  const items = (b.kind === `${t.kind}List` ? arr(b.items) : [body]) as KObject[];
  const cols = COLUMNS[`${t.group}/${t.kind}`] ?? [nameCol, ageCol];
  const now = Date.parse(nowIso);
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: { resourceVersion: o(b.metadata).resourceVersion },
    // A watch sends the column definitions with its first event only, as the real server does.
    columnDefinitions: headers
      ? cols.map((c) => ({ name: c.name, type: c.type, format: c.format ?? "", description: "", priority: c.priority ?? 0 }))
      : [],
    rows: items.map((x) => ({ cells: cols.map((c) => c.cell(x, now)), object: includeObject === "Object" ? x : partialMetadata(x) })),
  };
}
