/**
 * What an operator may pass as --tag: an OCI tag or a sha256 digest. Everything else (spaces, `;`, `$`,
 * quotes, newlines…) is refused before anything is sent to the cluster, and the message says why.
 */
import { matchesGlob } from "node:path";
import { UsageError } from "../errors.ts";

// OCI distribution spec: tags are [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}; digests here are sha256 only.
const OCI_TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;

export type ImageVersion = { kind: "tag"; value: string } | { kind: "digest"; value: string };

export function parseVersion(input: string): ImageVersion {
  if (SHA256_DIGEST.test(input)) return { kind: "digest", value: input };
  if (OCI_TAG.test(input)) return { kind: "tag", value: input };
  throw new UsageError(`refused --tag ${JSON.stringify(input)}: ${whyInvalid(input)}; nothing was changed in the cluster`);
}

function whyInvalid(input: string): string {
  if (input.length === 0) return "it is empty";
  if (input.startsWith("sha256:")) return "a digest must be sha256: followed by 64 lowercase hex digits";
  const bad = [...input].find((c) => !/[A-Za-z0-9._-]/.test(c));
  if (bad !== undefined) return `character ${JSON.stringify(bad)} is not allowed in an OCI tag ([A-Za-z0-9_.-] only)`;
  if (input.length > 128) return `an OCI tag is at most 128 characters (this one has ${input.length})`;
  return "an OCI tag must start with a letter, digit or underscore";
}

/** A tag that is pushed again by design, whatever release.yaml says. */
export const ALWAYS_MUTABLE = "latest";

/**
 * Refuse a mutable tag (`latest`, or one matching a pattern of release.yaml's mutableTags, `*` matching any run of
 * characters) unless it is allowed on purpose: the image it names can change under a release, so what passed the
 * canary, what stable runs and what the record says could differ. A digest never moves.
 */
export function assertImmutableTag(version: ImageVersion, mutableTags: readonly string[], allowed: boolean): void {
  if (version.kind !== "tag" || allowed) return;
  const pattern = [ALWAYS_MUTABLE, ...mutableTags].find((p) => matchesGlob(version.value, p));
  if (pattern === undefined) return;
  throw new UsageError(
    `refused --tag ${version.value}: it is a mutable tag (` +
      `${pattern === ALWAYS_MUTABLE ? "`latest` always moves" : `release.yaml's mutableTags has "${pattern}"`}), ` +
      "so the image it names can change while the release runs. Release a version tag or a sha256: digest, or pass --allow-mutable-tag to " +
      "release it anyway (stable then gets the digest the canary ran, and the record keeps it); nothing was changed in the cluster",
  );
}

/** The repository part of an image reference: registry/path without tag or digest. */
export function repositoryOf(image: string): string {
  const at = image.indexOf("@");
  const withoutDigest = at >= 0 ? image.slice(0, at) : image;
  const lastSlash = withoutDigest.lastIndexOf("/");
  const colon = withoutDigest.lastIndexOf(":");
  // A colon after the last slash is a tag; before it, a registry port (registry:5000/app).
  return colon > lastSlash ? withoutDigest.slice(0, colon) : withoutDigest;
}

export function imageRef(repository: string, version: ImageVersion): string {
  return version.kind === "digest" ? `${repository}@${version.value}` : `${repository}:${version.value}`;
}

/** The version an app reports for an image reference: its tag, or its digest when pinned by digest only. */
export function versionOf(image: string): string {
  const at = image.indexOf("@");
  if (at >= 0) return image.slice(at + 1);
  const colon = image.lastIndexOf(":");
  return colon > image.lastIndexOf("/") ? image.slice(colon + 1) : "latest";
}

/** `repository@digest`: the image exactly as it was tested, whatever its tag points at later. */
export function pinnedTo(image: string, digest: string): string {
  return `${repositoryOf(image)}@${digest}`;
}
