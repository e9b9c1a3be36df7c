/**
 * The ingress-nginx router: a canary Ingress derived from the stable one.
 *
 * ingress-nginx splits traffic for a host/path between a "main" Ingress and at most one canary Ingress carrying
 * `nginx.ingress.kubernetes.io/canary: "true"`. The canary Ingress is created once at weight 0 (creating or
 * deleting an Ingress makes nginx reload; annotation changes on an existing canary are applied through Lua
 * without a reload), and after that only its `canary-weight` annotation (and the header annotations) change.
 *
 * One router per stable Ingress: QualiSys has one Ingress with a host per service, so one canary Ingress
 * carries every service's canary backend and all services move together.
 */
import { isDeepStrictEqual } from "node:util";
import * as k8s from "@kubernetes/client-node";
import type { Kube } from "../kube/client.ts";
import { FailedError, UsageError } from "../errors.ts";
import { ifExists, isConflict, isNotFound } from "../kube/api-errors.ts";
import {
  assertWeight,
  groupBy,
  missingServices,
  requireServices,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  SplittingRouter,
  splittingTraits,
  type CanaryHeader,
  type ObjectRef,
  type RouterInputs,
  type RouterType,
  type TrafficRouter,
  type WatchedRoute,
} from "./router.ts";

const A = "nginx.ingress.kubernetes.io/";
export const CANARY = `${A}canary`;
export const CANARY_WEIGHT = `${A}canary-weight`;
export const CANARY_WEIGHT_TOTAL = `${A}canary-weight-total`;
export const CANARY_BY_HEADER = `${A}canary-by-header`;
export const CANARY_BY_HEADER_VALUE = `${A}canary-by-header-value`;
export const CANARY_BY_HEADER_PATTERN = `${A}canary-by-header-pattern`;

export const ROLE_LABEL = "release-gate.qualisys.io/role";
export const DERIVED_FROM_ANNOTATION = "release-gate.qualisys.io/derived-from";
/** The pre-IngressClass way of naming the class, still honoured by ingress-nginx. */
export const LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class";

/**
 * The only annotations of the stable Ingress the canary Ingress carries (an allow-list, as Argo Rollouts builds its
 * canary Ingress). ingress-nginx ignores a canary Ingress's other annotations (it inherits them from the main
 * Ingress), except these, which shape the canary's own upstream: balancing and session affinity. Everything else
 * (cert-manager, external-dns, GitOps trackers, the last-applied configuration, the stable's own canary settings)
 * stays behind, whatever controllers a cluster runs.
 */
const CARRIED_ANNOTATIONS = [
  LEGACY_CLASS_ANNOTATION,
  `${A}load-balance`,
  `${A}upstream-hash-by`,
  `${A}affinity`,
  `${A}affinity-mode`,
  `${A}affinity-canary-behavior`,
];
const CARRIED_ANNOTATION_PREFIXES = [`${A}session-cookie-`];

const carried = (key: string): boolean => CARRIED_ANNOTATIONS.includes(key) || CARRIED_ANNOTATION_PREFIXES.some((p) => key.startsWith(p));

/** The stable Service → canary Service swap one service contributes to the canary Ingress. */
export interface BackendSwap {
  /** The service's name in release.yaml. */
  name?: string;
  stableService: string;
  canaryService: string;
}

export interface IngressNginxRouterOptions {
  namespace: string;
  /** The stable (main) Ingress; the canary Ingress is `<ingress>-canary`. */
  ingress: string;
  services: BackendSwap[];
  canaryHeader: CanaryHeader;
}

/** IngressClass.spec.controller of ingress-nginx. */
export const INGRESS_NGINX_CONTROLLER = "k8s.io/ingress-nginx";

export const canaryIngressName = (stableIngress: string): string => `${stableIngress}-canary`;

/**
 * The canary Ingress for `stable`, built from an allow-list of what it needs: the rules' paths whose backend is a
 * configured stable Service, swapped to its canary Service (paths with any other backend are not part of the
 * release and are left out); the TLS entries of those hosts; the class; the few annotations ingress-nginx reads
 * from a canary (CARRIED_ANNOTATIONS); the canary annotations. No label of the stable Ingress is carried: its
 * own labels say that release-gate owns it. Pure: the same stable Ingress always gives the same canary Ingress.
 */
export function deriveCanaryIngress(stable: k8s.V1Ingress, swaps: BackendSwap[], header: CanaryHeader, weight = 0): k8s.V1Ingress {
  const name = stable.metadata?.name;
  if (!name) throw new UsageError("cannot derive a canary Ingress from an Ingress without metadata.name");
  const swap = new Map(swaps.map((s) => [s.stableService, s.canaryService]));
  const swapBackend = (b: k8s.V1IngressBackend | undefined): k8s.V1IngressBackend | undefined => {
    const svc = b?.service;
    if (!svc || !swap.has(svc.name)) return undefined;
    return { service: { ...structuredClone(svc), name: swap.get(svc.name)! } };
  };

  const rules: k8s.V1IngressRule[] = [];
  for (const rule of stable.spec?.rules ?? []) {
    const paths: k8s.V1HTTPIngressPath[] = [];
    for (const p of rule.http?.paths ?? []) {
      const backend = swapBackend(p.backend);
      if (backend) paths.push({ ...structuredClone(p), backend });
    }
    if (paths.length) rules.push({ ...(rule.host !== undefined ? { host: rule.host } : {}), http: { paths } });
  }
  const defaultBackend = swapBackend(stable.spec?.defaultBackend);
  if (!rules.length && !defaultBackend) {
    throw new UsageError(
      `Ingress ${stable.metadata?.namespace}/${name} has no backend pointing at any of the stable Services ` +
        `${swaps.map((s) => s.stableService).join(", ")}: there is nothing to canary`,
    );
  }
  const hosts = new Set(rules.map((r) => r.host).filter((h): h is string => !!h));
  const tls = (stable.spec?.tls ?? []).filter((t) => !t.hosts?.length || t.hosts.some((h) => hosts.has(h))).map((t) => structuredClone(t));

  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(stable.metadata?.annotations ?? {})) if (carried(k)) annotations[k] = v;
  Object.assign(annotations, {
    [CANARY]: "true",
    [CANARY_WEIGHT]: String(weight),
    [CANARY_BY_HEADER]: header.name,
    [CANARY_BY_HEADER_VALUE]: header.value,
    [DERIVED_FROM_ANNOTATION]: name,
  });

  const spec: k8s.V1IngressSpec = { rules };
  if (stable.spec?.ingressClassName) spec.ingressClassName = stable.spec.ingressClassName;
  if (defaultBackend) spec.defaultBackend = defaultBackend;
  if (tls.length) spec.tls = tls;

  const uid = stable.metadata?.uid;
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: {
      name: canaryIngressName(name),
      namespace: stable.metadata?.namespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [ROLE_LABEL]: "canary" },
      annotations,
      // Deleting the stable Ingress garbage-collects its canary (a canary without a main Ingress is a 404 anyway).
      ...(uid ? { ownerReferences: [{ apiVersion: "networking.k8s.io/v1", kind: "Ingress", name, uid }] } : {}),
    },
    spec,
  };
}

/**
 * The canary weight in percent an Ingress's annotations give, as ingress-nginx reads them: 0 unless
 * `canary: "true"`; `canary-weight-total` counts only above 100 (balancer.lua ignores smaller totals).
 */
export function weightFromAnnotations(annotations: Record<string, string> | undefined, where: string): number {
  const a = annotations ?? {};
  if (a[CANARY] !== "true") return 0;
  const raw = a[CANARY_WEIGHT];
  if (raw === undefined || raw === "") return 0;
  const weight = Number(raw);
  const totalRaw = a[CANARY_WEIGHT_TOTAL];
  const total = totalRaw !== undefined && Number(totalRaw) > 100 ? Number(totalRaw) : 100;
  if (!Number.isInteger(weight) || weight < 0) {
    throw new FailedError(`${where} has an unreadable ${CANARY_WEIGHT} annotation "${raw}": the live canary weight is unknown`);
  }
  return Math.min(100, (weight * 100) / total);
}

const mergePatch = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch);

/** What decides a canary Ingress's routing (spec, labels, annotations but the weight), for drift detection. */
function routingOf(ing: k8s.V1Ingress): unknown {
  const a = ing.metadata?.annotations ?? {};
  const carried = Object.fromEntries(Object.entries(a).filter(([k]) => k !== CANARY_WEIGHT));
  // Through JSON: undefined fields vanish, as they do on the wire. Key order is not compared (isDeepStrictEqual).
  return JSON.parse(JSON.stringify({ spec: ing.spec, labels: ing.metadata?.labels ?? {}, annotations: carried }));
}

export class IngressNginxRouter extends SplittingRouter implements TrafficRouter {
  readonly namespace: string;
  readonly ingress: string;
  readonly canaryIngress: string;
  readonly name: string;
  readonly services: readonly string[];
  readonly objects: readonly ObjectRef[];
  readonly watched: readonly WatchedRoute[];
  private readonly kube: Kube;
  private readonly swaps: BackendSwap[];

  constructor(kube: Kube, opts: IngressNginxRouterOptions) {
    super(opts.canaryHeader);
    this.kube = kube;
    this.namespace = opts.namespace;
    this.ingress = opts.ingress;
    this.canaryIngress = canaryIngressName(opts.ingress);
    this.swaps = opts.services;
    this.name = `ingress-nginx Ingress ${this.namespace}/${this.canaryIngress}`;
    this.services = opts.services.map((s) => s.name ?? s.stableService);
    this.objects = [{ kind: "Ingress", namespace: this.namespace, name: this.canaryIngress }];
    this.watched = [
      {
        ref: this.objects[0]!,
        path: `/apis/networking.k8s.io/v1/namespaces/${this.namespace}/ingresses`,
        list: () =>
          this.kube.networking.listNamespacedIngress({ namespace: this.namespace, fieldSelector: `metadata.name=${this.canaryIngress}` }),
        weightIn: (o) => (o ? weightFromAnnotations((o as k8s.V1Ingress).metadata?.annotations, this.where()) : 0),
        weightFields: [CANARY, CANARY_WEIGHT, CANARY_WEIGHT_TOTAL].map((a) => ["f:metadata", "f:annotations", `f:${a}`]),
      },
    ];
  }

  private where(name = this.canaryIngress): string {
    return `Ingress ${this.namespace}/${name}`;
  }

  private read(name: string): Promise<k8s.V1Ingress | undefined> {
    return ifExists(() => this.kube.networking.readNamespacedIngress({ name, namespace: this.namespace }));
  }

  /** Every Ingress of the namespace, by name: one request for the stable Ingress, its canary and any other canary. */
  private async readAll(): Promise<Map<string, k8s.V1Ingress>> {
    const all = await this.kube.networking.listNamespacedIngress({ namespace: this.namespace });
    return new Map(all.items.map((i) => [i.metadata?.name ?? "", i]));
  }

  async preflight(): Promise<void> {
    const all = await this.readAll();
    const stable = all.get(this.ingress);
    if (!stable)
      throw new UsageError(`${this.where(this.ingress)} not found: the ingress-nginx router needs the stable Ingress; nothing was changed`);
    if (stable.metadata?.annotations?.[CANARY] === "true") {
      throw new UsageError(
        `${this.where(this.ingress)} is itself a canary Ingress (${CANARY}: "true"); name the main Ingress instead; nothing was changed`,
      );
    }
    await requireServices(this.kube, this.namespace, this.swaps, "ingress-nginx");
    await this.checkIngressClass(stable);
    const referenced = new Set<string>();
    if (stable.spec?.defaultBackend?.service?.name) referenced.add(stable.spec.defaultBackend.service.name);
    for (const r of stable.spec?.rules ?? [])
      for (const p of r.http?.paths ?? []) if (p.backend.service?.name) referenced.add(p.backend.service.name);
    for (const s of this.swaps) {
      if (!referenced.has(s.stableService)) {
        throw new UsageError(
          `${this.where(this.ingress)} has no backend pointing at the stable Service ${s.stableService}; nothing was changed`,
        );
      }
    }
    const existing = all.get(this.canaryIngress);
    if (existing && existing.metadata?.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY) {
      throw new UsageError(
        `${this.where()} exists but is not managed by release-gate (label ${MANAGED_BY_LABEL}=${MANAGED_BY} missing); ` +
          `release-gate will not take it over: rename or delete it; nothing was changed`,
      );
    }
    // ingress-nginx honours one canary per host/path; a second one would be rejected or silently ignored.
    const hosts = new Set((stable.spec?.rules ?? []).map((r) => r.host ?? ""));
    for (const [name, other] of all) {
      if (name === this.canaryIngress || other.metadata?.annotations?.[CANARY] !== "true") continue;
      const clash = (other.spec?.rules ?? []).map((r) => r.host ?? "").find((h) => hosts.has(h));
      if (clash !== undefined) {
        throw new UsageError(
          `${this.where(name)} is another canary for host "${clash}" of ${this.where(this.ingress)}; ingress-nginx honours only one canary ` +
            `per host/path; nothing was changed`,
        );
      }
    }
  }

  /**
   * Refuse when the stable Ingress's class is known to belong to another controller (canary annotations would
   * then do nothing). Unknown (no class named, IngressClass absent or not readable by our RBAC): not refused.
   */
  private async checkIngressClass(stable: k8s.V1Ingress): Promise<void> {
    const name = stable.spec?.ingressClassName ?? stable.metadata?.annotations?.[LEGACY_CLASS_ANNOTATION];
    if (!name) return;
    let controller: string | undefined;
    try {
      controller = (await this.kube.networking.readIngressClass({ name })).spec?.controller;
    } catch {
      return;
    }
    if (controller && controller !== INGRESS_NGINX_CONTROLLER) {
      throw new UsageError(
        `${this.where(this.ingress)} has class ${name}, whose controller is ${controller}, not ingress-nginx (${INGRESS_NGINX_CONTROLLER}): ` +
          `the canary annotations would do nothing; pick the router for that controller; nothing was changed`,
      );
    }
  }

  /**
   * Create the canary Ingress at weight 0 if missing. If it exists (a previous release), bring its hosts,
   * paths, backends and header annotations in line with the stable Ingress, keeping its live weight.
   */
  async prepare(): Promise<void> {
    const all = await this.readAll();
    const stable = all.get(this.ingress);
    if (!stable)
      throw new FailedError(
        `${this.where(this.ingress)} not found while preparing the canary Ingress; nothing was changed, all traffic stays on stable`,
      );
    const live = all.get(this.canaryIngress);
    if (!live) {
      try {
        await this.kube.networking.createNamespacedIngress({
          namespace: this.namespace,
          body: deriveCanaryIngress(stable, this.swaps, this.header, 0),
        });
      } catch (err) {
        // A create the transport replayed after it had in fact succeeded, or a concurrent prepare: check again.
        if (!isConflict(err)) throw err;
        return this.prepare();
      }
      return;
    }
    const liveWeight = weightFromAnnotations(live.metadata?.annotations, this.where());
    const desired = deriveCanaryIngress(stable, this.swaps, this.header, liveWeight);
    if (isDeepStrictEqual(routingOf(live), routingOf(desired))) return;
    const drop = (have: Record<string, string> | undefined, want: Record<string, string> | undefined) =>
      Object.fromEntries(
        Object.keys(have ?? {})
          .filter((k) => !(k in (want ?? {})))
          .map((k) => [k, null]),
      );
    await this.kube.networking.patchNamespacedIngress(
      {
        name: this.canaryIngress,
        namespace: this.namespace,
        body: {
          metadata: {
            labels: { ...drop(live.metadata?.labels, desired.metadata?.labels), ...desired.metadata?.labels },
            annotations: {
              ...drop(live.metadata?.annotations, desired.metadata?.annotations),
              ...desired.metadata?.annotations,
              [CANARY_WEIGHT]: live.metadata?.annotations?.[CANARY_WEIGHT] ?? "0",
            },
          },
          spec: {
            ...desired.spec,
            tls: desired.spec?.tls ?? null,
            defaultBackend: desired.spec?.defaultBackend ?? null,
            ingressClassName: desired.spec?.ingressClassName ?? null,
          },
        },
      },
      mergePatch,
    );
  }

  async setWeight(weight: number): Promise<void> {
    assertWeight(weight, this.where());
    try {
      await this.patchAnnotations({ [CANARY_WEIGHT]: String(weight), [CANARY_WEIGHT_TOTAL]: null }, `set the canary weight to ${weight}`);
    } catch (err) {
      // Without a canary Ingress nothing reaches the canary: weight 0 is already true.
      if (!(weight === 0 && err instanceof CanaryIngressMissing)) throw err;
    }
  }

  async getWeight(): Promise<number> {
    const live = await this.read(this.canaryIngress);
    return live ? weightFromAnnotations(live.metadata?.annotations, this.where()) : 0;
  }

  /** Weight 0 and header routing off. The canary Ingress stays: deleting and re-creating it reloads nginx. */
  async reset(): Promise<void> {
    try {
      await this.patchAnnotations(
        {
          [CANARY_WEIGHT]: "0",
          [CANARY_WEIGHT_TOTAL]: null,
          [CANARY_BY_HEADER]: null,
          [CANARY_BY_HEADER_VALUE]: null,
          [CANARY_BY_HEADER_PATTERN]: null,
        },
        "reset the canary weight to 0",
      );
    } catch (err) {
      if (err instanceof CanaryIngressMissing) return; // No canary Ingress: nothing routes to the canary.
      throw err;
    }
  }

  /** The main Ingress must exist and send each service's host/path to its stable Service, which must exist. */
  async stableRouteProblems(): Promise<string[]> {
    const stable = (await this.readAll()).get(this.ingress);
    const problems: string[] = [];
    if (!stable) problems.push(`${this.where(this.ingress)} does not exist: users reach no backend of it`);
    else {
      const referenced = new Set(
        [stable.spec?.defaultBackend, ...(stable.spec?.rules ?? []).flatMap((r) => (r.http?.paths ?? []).map((p) => p.backend))].map(
          (b) => b?.service?.name,
        ),
      );
      for (const s of this.swaps)
        if (!referenced.has(s.stableService))
          problems.push(`${this.where(this.ingress)} no longer sends to the stable Service ${s.stableService}`);
    }
    return [
      ...problems,
      ...(await missingServices(
        this.kube,
        this.namespace,
        this.swaps.map((s) => s.stableService),
      )),
    ];
  }

  private async patchAnnotations(annotations: Record<string, string | null>, what: string): Promise<void> {
    try {
      await this.kube.networking.patchNamespacedIngress(
        { name: this.canaryIngress, namespace: this.namespace, body: { metadata: { annotations } } },
        mergePatch,
      );
    } catch (err) {
      if (isNotFound(err)) {
        throw new CanaryIngressMissing(
          `${this.where()} not found, could not ${what}: the router was not prepared (or the Ingress was deleted); without it all traffic goes to stable`,
        );
      }
      throw err;
    }
  }
}

class CanaryIngressMissing extends FailedError {}

/** ingress-nginx: one router per stable Ingress (QualiSys's one Ingress, a host per service, gives one canary Ingress). */
export const ingressNginx: RouterType = {
  kind: "ingress-nginx",
  ...splittingTraits,
  describeWeight: (weight) => `set weight ${weight} on the canary Ingress and verify it took effect`,
  describeRoute: (route) => `Ingress ${route.ingress ?? "(none named)"}`,
  build: (kube: Kube, inputs: RouterInputs) =>
    [...groupBy(inputs.services, (s) => s.ingress!)].map(
      ([ingress, services]) =>
        new IngressNginxRouter(kube, {
          namespace: inputs.namespace,
          ingress,
          canaryHeader: inputs.canaryHeader,
          services: services.map(({ name, stableService, canaryService }) => ({ name, stableService, canaryService })),
        }),
    ),
};
