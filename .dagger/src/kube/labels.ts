/** The label on every object release-gate creates and owns (canary Ingress, Lease, state and history ConfigMaps). */
export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY = "release-gate";

/**
 * On a stable pod template promoted by digest: the tag it was released as, i.e. the version the app reports, which
 * `repository@sha256:…` no longer says.
 */
export const RELEASED_TAG_ANNOTATION = "release-gate.qualisys.io/tag";

/** The field manager of every write release-gate makes (metadata.managedFields): its changes are told from others' by it. */
export const FIELD_MANAGER = "release-gate";
