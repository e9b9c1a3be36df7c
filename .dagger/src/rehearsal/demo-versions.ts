/**
 * The demo app versions a rehearsal releases: the stable one kubernetes/local's overlays deploy, a good one released
 * through every phase, and a bad one named after how it fails (the app reads its failure from its version).
 */
import type { DemoFailure } from "./demo-app.ts";

/** Where the images are loaded into kind; the overlays point every Deployment here and never pull it. */
export const DEMO_IMAGE_REPOSITORY = "release-gate.local/demo";
export const STABLE_VERSION = "1.0.0";
export const GOOD_VERSION = "2.0.0";

export function badVersion(failure: DemoFailure): string {
  return `2.1.0-${failure}`;
}

export function demoImageRef(version: string): string {
  return `${DEMO_IMAGE_REPOSITORY}:${version}`;
}
