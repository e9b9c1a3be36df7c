/**
 * Traffic routing: one router per file behind router.ts's interface (ingress-nginx, gateway-api, replicas), a
 * release's routers together in routing.ts, and the observed split measured through the public URL.
 */
export type { CanaryHeader, ObjectRef, RouterInputs, RouterKind, RouterType, ServiceRoute, TrafficRouter } from "./router.ts";
export { assertWeight, shareOfStable } from "./router.ts";
export { Routing, routingFor, routerInputs, routerType, verifyWeight, type VerifyOptions } from "./routing.ts";
export { IngressNginxRouter, deriveCanaryIngress, canaryIngressName } from "./ingress-nginx.ts";
export { GatewayApiRouter } from "./gateway-api.ts";
export { ReplicasRouter, canaryReplicasFor } from "./replicas.ts";
export {
  observeSplit,
  judgeSplit,
  type ObserveSplitOptions,
  type SplitResult,
  type SplitCounts,
  type SplitVerdict,
} from "./observed-split.ts";
