/**
 * What the Dagger function hands the rehearsal inside the toolbox: one JSON file (the function writes it, the story
 * reads it), validated here so a mismatch between the two fails with a clear message rather than halfway through.
 * Paths are inside the toolbox; the API server's host service comes separately, as RELEASE_GATE_KUBE_API.
 */
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { UsageError } from "../errors.ts";
import { DEMO_FAILURES } from "./demo-app.ts";
import { ROUTERS } from "./release-config.ts";

export const rehearsalSettingsSchema = z.strictObject({
  cluster: z.string().min(1),
  router: z.enum(ROUTERS),
  failure: z.enum(DEMO_FAILURES),
  deleteCluster: z.boolean(),
  /** The edge as bound in the toolbox (host service --edge): host name and port. */
  edge: z.strictObject({ host: z.string().min(1), port: z.number().int().min(1).max(65535) }),
  versions: z.strictObject({ stable: z.string().min(1), good: z.string().min(1), bad: z.string().min(1) }),
  /** Image archives built by Dagger, one per version, each named inside (io.containerd.image.name). */
  images: z.array(z.strictObject({ ref: z.string().min(1), archive: z.string().min(1) })).min(1),
  files: z.strictObject({
    kindConfig: z.string().min(1),
    productionRelease: z.string().min(1),
    /** kubernetes/local/<router> rendered by kustomize. */
    overlay: z.string().min(1),
    routerManifest: z.string().min(1),
    routerLocal: z.string().min(1),
  }),
});
export type RehearsalSettings = z.output<typeof rehearsalSettingsSchema>;

export async function readRehearsalSettings(path: string): Promise<RehearsalSettings> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, "utf8"));
  } catch (err) {
    throw new UsageError(`cannot read the rehearsal's settings ${path}: ${(err as Error).message}; nothing was changed`);
  }
  const r = rehearsalSettingsSchema.safeParse(raw);
  if (!r.success) throw new UsageError(`the rehearsal's settings ${path} are invalid:\n${z.prettifyError(r.error)}`);
  return r.data;
}
