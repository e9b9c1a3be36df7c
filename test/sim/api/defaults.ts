/**
 * Defaulting, as the real API server fills in omitted fields of built-in kinds on every write (the values of
 * k8s.io/kubernetes/pkg/apis/<group>/v1/defaults.go) and allocates Service cluster IPs. Only the fields that
 * rollout logic, kubectl output and diffs depend on are covered.
 */
import type { KObject, Store } from "../store.ts";

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : undefined);
const setDefault = (o: Obj, k: string, v: unknown) => {
  if (o[k] === undefined) o[k] = v;
};

function defaultContainer(c: Obj): void {
  setDefault(c, "terminationMessagePath", "/dev/termination-log");
  setDefault(c, "terminationMessagePolicy", "File");
  if (c.imagePullPolicy === undefined && typeof c.image === "string") {
    const ref = c.image.split("@")[0]!;
    const lastSlash = ref.lastIndexOf("/");
    const tagSep = ref.lastIndexOf(":");
    const tag = tagSep > lastSlash ? ref.slice(tagSep + 1) : "";
    c.imagePullPolicy = c.image.includes("@") ? "IfNotPresent" : tag === "" || tag === "latest" ? "Always" : "IfNotPresent";
  }
  setDefault(c, "resources", {});
  for (const p of Array.isArray(c.ports) ? c.ports : []) if (obj(p)) setDefault(p as Obj, "protocol", "TCP");
}

export function defaultPodSpec(spec: Obj | undefined): void {
  if (!spec) return;
  setDefault(spec, "restartPolicy", "Always");
  setDefault(spec, "terminationGracePeriodSeconds", 30);
  setDefault(spec, "dnsPolicy", "ClusterFirst");
  setDefault(spec, "securityContext", {});
  setDefault(spec, "schedulerName", "default-scheduler");
  for (const key of ["containers", "initContainers"]) {
    for (const c of Array.isArray(spec[key]) ? spec[key] : []) if (obj(c)) defaultContainer(c as Obj);
  }
}

function nextClusterIP(store: Store): string {
  const used = new Set(
    store
      .list("/v1/services")
      .items.map((s) => obj(s.spec)?.clusterIP)
      .filter((ip): ip is string => typeof ip === "string"),
  );
  for (let i = 10; ; i++) {
    const ip = `10.96.${Math.floor(i / 250)}.${(i % 250) + 1}`;
    if (!used.has(ip)) return ip;
  }
}

/** Fill in defaults on `o` (mutated), which is about to be stored. */
export function applyDefaults(o: KObject, store: Store): void {
  const spec = obj(o.spec);
  const group = o.apiVersion.includes("/") ? o.apiVersion.split("/")[0] : "";
  switch (`${group}/${o.kind}`) {
    case "apps/Deployment":
      if (!spec) return;
      setDefault(spec, "replicas", 1);
      setDefault(spec, "revisionHistoryLimit", 10);
      setDefault(spec, "progressDeadlineSeconds", 600);
      setDefault(spec, "strategy", { type: "RollingUpdate" });
      {
        const strategy = obj(spec.strategy)!;
        setDefault(strategy, "type", "RollingUpdate");
        if (strategy.type === "RollingUpdate") {
          setDefault(strategy, "rollingUpdate", {});
          setDefault(obj(strategy.rollingUpdate)!, "maxUnavailable", "25%");
          setDefault(obj(strategy.rollingUpdate)!, "maxSurge", "25%");
        }
      }
      defaultPodSpec(obj(obj(spec.template)?.spec));
      break;
    case "apps/ReplicaSet":
    case "apps/StatefulSet":
      if (!spec) return;
      setDefault(spec, "replicas", 1);
      defaultPodSpec(obj(obj(spec.template)?.spec));
      break;
    case "apps/DaemonSet":
    case "batch/Job":
      defaultPodSpec(obj(obj(spec?.template)?.spec));
      break;
    case "/Pod":
      defaultPodSpec(spec);
      break;
    case "/Service": {
      if (!spec) return;
      setDefault(spec, "type", "ClusterIP");
      setDefault(spec, "sessionAffinity", "None");
      if (spec.type !== "ExternalName") {
        setDefault(spec, "clusterIP", nextClusterIP(store));
        setDefault(spec, "clusterIPs", [spec.clusterIP]);
        setDefault(spec, "ipFamilies", ["IPv4"]);
        setDefault(spec, "ipFamilyPolicy", "SingleStack");
        setDefault(spec, "internalTrafficPolicy", "Cluster");
      }
      for (const p of Array.isArray(spec.ports) ? spec.ports : []) {
        const port = obj(p);
        if (!port) continue;
        setDefault(port, "protocol", "TCP");
        setDefault(port, "targetPort", port.port);
      }
      setDefault(o, "status", { loadBalancer: {} });
      break;
    }
    case "/Secret": {
      // stringData is write-only: merged into data (base64) on write, as the real registry does.
      const stringData = obj(o.stringData);
      if (stringData) {
        const data = { ...(obj(o.data) ?? {}) };
        for (const [k, v] of Object.entries(stringData)) data[k] = Buffer.from(String(v)).toString("base64");
        o.data = data;
        delete o.stringData;
      }
      if (!o.type) o.type = "Opaque";
      break;
    }
    case "/Namespace": {
      o.metadata.labels = { ...(o.metadata.labels ?? {}), "kubernetes.io/metadata.name": o.metadata.name };
      o.spec = { finalizers: ["kubernetes"], ...(spec ?? {}) };
      o.status = { phase: "Active", ...(obj(o.status) ?? {}) };
      break;
    }
  }
}
