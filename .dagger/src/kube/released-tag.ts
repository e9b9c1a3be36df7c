/**
 * The tag a stable Deployment pinned by digest was released as. `repository@sha256:…` no longer says which version
 * the app reports, so promotion writes it on the pod template (RELEASED_TAG_ANNOTATION) as `tag@digest`: the tag, and
 * the digest it describes. The tag is believed only while the template's image is pinned to that very digest: a
 * re-applied manifest (`kubectl apply -k`, a GitOps sync) keeps an annotation it never set while it puts another
 * image back, tag or digest, and that image's own version is then what stable runs.
 */
import { RELEASED_TAG_ANNOTATION } from "./labels.ts";

/** The annotations promotion puts on stable's template when it pins `digest`, released as `tag`. */
export function releasedTagAnnotations(tag: string, digest: string): Record<string, string> {
  return { [RELEASED_TAG_ANNOTATION]: `${tag}@${digest}` };
}

/** The tag `image` was released as, when the template's annotation describes exactly that digest; else undefined. */
export function releasedTagOf(annotations: Record<string, string> | undefined, image: string | undefined): string | undefined {
  const value = annotations?.[RELEASED_TAG_ANNOTATION];
  const pinned = image?.indexOf("@") ?? -1;
  if (!value || !image || pinned < 0) return undefined;
  const at = value.indexOf("@");
  // Written before the digest was part of it (a bare tag): believed while stable is pinned by digest at all, so the
  // first release after an upgrade still knows what stable reports; the next promotion writes tag@digest.
  if (at < 0) return value;
  if (at === 0) return undefined;
  return value.slice(at + 1) === image.slice(pinned + 1) ? value.slice(0, at) : undefined;
}
