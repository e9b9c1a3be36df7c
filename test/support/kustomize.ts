/**
 * A kustomization that adds opt-in components (kubernetes/production/components/…) to a base, written into `dir`
 * as a user's own overlay would be: kustomize refuses absolute paths, so both are referred to relative to `dir`.
 */
import { writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { stringify } from "yaml";

export async function overlayWithComponents(dir: string, base: string, components: string[]): Promise<string> {
  const rel = (p: string) => relative(dir, resolve(p));
  await writeFile(
    join(dir, "kustomization.yaml"),
    stringify({
      apiVersion: "kustomize.config.k8s.io/v1beta1",
      kind: "Kustomization",
      resources: [rel(base)],
      components: components.map(rel),
    }),
  );
  return dir;
}
