/**
 * `Status` bodies as the real kube-apiserver returns them (k8s.io/apimachinery/pkg/api/errors): the HTTP code,
 * `reason`, `message` and `details` that kubectl and client-node turn into their error messages.
 */
import type { ResourceType } from "../store.ts";

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface StatusBody {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Success" | "Failure";
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** A failure that the HTTP layer answers with this Status. */
export class ApiError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly details?: StatusDetails;
  constructor(code: number, reason: string, message: string, details?: StatusDetails) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.details = details;
  }

  toStatus(): StatusBody {
    const s: StatusBody = {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) s.details = this.details;
    return s;
  }
}

/** "deployments.apps", "pods": how the server names a resource in messages. */
export const qualifiedResource = (t: Pick<ResourceType, "plural" | "group">): string => (t.group ? `${t.plural}.${t.group}` : t.plural);
/** "Deployment.apps", "Pod": how the server names a kind in validation messages. */
export const qualifiedKind = (t: Pick<ResourceType, "kind" | "group">): string => (t.group ? `${t.kind}.${t.group}` : t.kind);

export function successStatus(details?: StatusDetails): StatusBody {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", ...(details ? { details } : {}), code: 200 } as StatusBody;
}

export const notFound = (t: ResourceType, name: string): ApiError =>
  new ApiError(404, "NotFound", `${qualifiedResource(t)} "${name}" not found`, { name, group: t.group || undefined, kind: t.plural });

export const namespaceNotFound = (name: string): ApiError =>
  new ApiError(404, "NotFound", `namespaces "${name}" not found`, { name, kind: "namespaces" });

export const unknownResource = (): ApiError => new ApiError(404, "NotFound", "the server could not find the requested resource", {});

export const alreadyExists = (t: ResourceType, name: string): ApiError =>
  new ApiError(409, "AlreadyExists", `${qualifiedResource(t)} "${name}" already exists`, {
    name,
    group: t.group || undefined,
    kind: t.plural,
  });

export const conflict = (
  t: ResourceType,
  name: string,
  why = "the object has been modified; please apply your changes to the latest version and try again",
): ApiError =>
  new ApiError(409, "Conflict", `Operation cannot be fulfilled on ${qualifiedResource(t)} "${name}": ${why}`, {
    name,
    group: t.group || undefined,
    kind: t.plural,
  });

/** 422 Invalid with one cause per field error, message formatted like field.ErrorList.ToAggregate(). */
export function invalid(t: ResourceType, name: string, causes: StatusCause[]): ApiError {
  const parts = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : (c.message ?? "")));
  const list = parts.length === 1 ? parts[0] : `[${parts.join(", ")}]`;
  return new ApiError(422, "Invalid", `${qualifiedKind(t)} "${name}" is invalid: ${list}`, {
    name,
    group: t.group || undefined,
    kind: t.kind,
    causes,
  });
}

export const badRequest = (message: string): ApiError => new ApiError(400, "BadRequest", message);

export const methodNotAllowed = (): ApiError =>
  new ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {});

export const unsupportedMediaType = (accepted: string[]): ApiError =>
  new ApiError(
    415,
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(", ")}`,
    {},
  );

export const notAcceptable = (accepted: string[]): ApiError =>
  new ApiError(406, "NotAcceptable", `only the following media types are accepted: ${accepted.join(", ")}`, {});

export const expired = (message: string): ApiError => new ApiError(410, "Expired", message);

export const tooManyRequests = (retryAfterSeconds: number): ApiError =>
  new ApiError(429, "TooManyRequests", "Too many requests, please try again later.", { retryAfterSeconds });

export const internalError = (message: string): ApiError =>
  new ApiError(500, "InternalError", `Internal error occurred: ${message}`, { causes: [{ message }] });

export const serviceUnavailable = (message = "the server is currently unable to handle the request"): ApiError =>
  new ApiError(503, "ServiceUnavailable", message, {});
