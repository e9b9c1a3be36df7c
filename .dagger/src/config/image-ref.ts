/**
 * What an operator may pass as --tag: an OCI tag or a sha256 digest. Everything else (spaces, `;`, `$`,
 * quotes, newlines…) is refused before anything is sent to the cluster, and the message says why.
 */
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
