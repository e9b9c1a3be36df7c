/**
 * The one interface every traffic router implements (one file per router in this folder), modelled on
 * Flagger's pkg/router/router.go: the pipeline only ever asks a router to get ready, move the weight, read it
 * back, route a header to the canary, and clean up.
 */

/** A request header that sends one request to the canary regardless of weight (for direct canary smoke tests). */
export interface CanaryHeader {
  name: string;
  value: string;
}

export interface TrafficRouter {
  /** Which router this is, as named in release.yaml. */
  readonly kind: "gateway-api" | "ingress-nginx" | "replicas";
  /** Check that every object the router needs exists and is well-formed. Changes nothing; throws UsageError. */
  preflight(): Promise<void>;
  /** Create what the router needs at weight 0, idempotently (e.g. the canary Ingress, the header rule). */
  prepare(): Promise<void>;
  /** Send `weight` percent (0..100) of user traffic to the canary. */
  setWeight(weight: number): Promise<void>;
  /** The canary weight as the cluster has it now, read back from the live objects. */
  getWeight(): Promise<number>;
  /** The header that routes a request to the canary, or undefined when the router cannot do that. */
  canaryHeader(): CanaryHeader | undefined;
  /** All traffic to stable and header routing removed: the resting state between releases. */
  reset(): Promise<void>;
}
