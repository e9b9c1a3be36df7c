/**
 * The validation the simulator enforces, with the field errors (`details.causes`) and messages of
 * k8s.io/apimachinery/pkg/util/validation and the apps/core validators: names (RFC 1123 subdomain/label,
 * RFC 1035 label for Services), workload selectors and templates, containers, replicas.
 */
import type { KObject, ResourceType } from "../store.ts";
import { invalid, type StatusCause } from "./status.ts";
import { matchesLabelSelector, type LabelSelector } from "./selectors.ts";

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character " +
  "(e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character " +
  "(e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_MSG =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character " +
  "(e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

const required = (field: string): StatusCause => ({ reason: "FieldValueRequired", message: "Required value", field });
const invalidValue = (field: string, value: string, detail: string): StatusCause => ({
  reason: "FieldValueInvalid",
  message: `Invalid value: ${value}: ${detail}`,
  field,
});

/** Go's %#v of a map[string]string, as the real messages print label maps. */
const goMap = (m: Record<string, string> | undefined) =>
  `map[string]string{${Object.keys(m ?? {})
    .sort()
    .map((k) => `${JSON.stringify(k)}:${JSON.stringify(m![k])}`)
    .join(", ")}}`;

function validateName(t: ResourceType, name: string, causes: StatusCause[]): void {
  if (t.kind === "Namespace") {
    if (!DNS1123_LABEL.test(name) || name.length > 63) causes.push(invalidValue("metadata.name", JSON.stringify(name), LABEL_MSG));
  } else if (t.kind === "Service") {
    if (!DNS1035_LABEL.test(name) || name.length > 63) causes.push(invalidValue("metadata.name", JSON.stringify(name), DNS1035_MSG));
  } else if (!DNS1123_SUBDOMAIN.test(name) || name.length > 253) {
    causes.push(invalidValue("metadata.name", JSON.stringify(name), SUBDOMAIN_MSG));
  }
}

type Obj = Record<string, unknown>;
const asObj = (v: unknown): Obj | undefined => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : undefined);

function validatePodSpec(spec: Obj | undefined, at: string, causes: StatusCause[]): void {
  const containers = spec?.containers;
  if (!Array.isArray(containers) || containers.length === 0) {
    causes.push(required(`${at}.containers`));
    return;
  }
  const seen = new Set<string>();
  containers.forEach((c: unknown, i: number) => {
    const co = asObj(c) ?? {};
    const field = `${at}.containers[${i}]`;
    if (typeof co.name !== "string" || co.name === "") causes.push(required(`${field}.name`));
    else {
      if (!DNS1123_LABEL.test(co.name)) causes.push(invalidValue(`${field}.name`, JSON.stringify(co.name), LABEL_MSG));
      if (seen.has(co.name))
        causes.push({ reason: "FieldValueDuplicate", message: `Duplicate value: ${JSON.stringify(co.name)}`, field: `${field}.name` });
      seen.add(co.name);
    }
    if (typeof co.image !== "string" || co.image.trim() === "") causes.push(required(`${field}.image`));
  });
}

const WORKLOADS = new Set(["Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"]);

function validateWorkload(t: ResourceType, obj: KObject, causes: StatusCause[]): void {
  const spec = asObj(obj.spec) ?? {};
  if (spec.replicas !== undefined && (typeof spec.replicas !== "number" || spec.replicas < 0)) {
    causes.push(invalidValue("spec.replicas", String(spec.replicas), "must be greater than or equal to 0"));
  }
  const template = asObj(spec.template);
  const labels = asObj(asObj(template?.metadata)?.labels) as Record<string, string> | undefined;
  const selector = asObj(spec.selector) as LabelSelector | undefined;
  if (!selector) causes.push(required("spec.selector"));
  else if (!Object.keys(selector.matchLabels ?? {}).length && !(selector.matchExpressions ?? []).length) {
    causes.push(
      invalidValue(
        "spec.selector",
        "v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}",
        `empty selector is invalid for ${t.kind.toLowerCase()}`,
      ),
    );
  } else if (!matchesLabelSelector(selector, labels)) {
    causes.push(invalidValue("spec.template.metadata.labels", goMap(labels), "`selector` does not match template `labels`"));
  }
  if (!template) causes.push(required("spec.template"));
  else validatePodSpec(asObj(template.spec), "spec.template.spec", causes);
}

/** A ConfigMap's data and binaryData together hold at most 1 MiB (core validation's MaxSecretSize), counted in bytes. */
const CONFIGMAP_MAX_BYTES = 1024 * 1024;

function validateConfigMapSize(obj: KObject, causes: StatusCause[]): void {
  const text = Object.values(asObj(obj.data) ?? {}).reduce<number>((n, v) => n + Buffer.byteLength(String(v), "utf8"), 0);
  const binary = Object.values(asObj(obj.binaryData) ?? {}).reduce<number>((n, v) => n + Buffer.from(String(v), "base64").length, 0);
  if (text + binary > CONFIGMAP_MAX_BYTES) {
    causes.push({ reason: "FieldValueTooLong", message: `Too long: may not be more than ${CONFIGMAP_MAX_BYTES} bytes`, field: "[]" });
  }
}

/** Throws 422 Invalid with every field error found in `obj` (about to be stored as type `t`). */
export function validateObject(t: ResourceType, obj: KObject, old?: KObject): void {
  const causes: StatusCause[] = [];
  const name = obj.metadata?.name ?? "";
  if (!name)
    causes.push({ reason: "FieldValueRequired", message: "Required value: name or generateName is required", field: "metadata.name" });
  else validateName(t, name, causes);
  if (WORKLOADS.has(t.kind) && t.group === "apps") {
    validateWorkload(t, obj, causes);
    if (old && JSON.stringify(asObj(old.spec)?.selector) !== JSON.stringify(asObj(obj.spec)?.selector)) {
      causes.push(invalidValue("spec.selector", "v1.LabelSelector{...}", "field is immutable"));
    }
  }
  if (t.kind === "Pod" && t.group === "") validatePodSpec(asObj(obj.spec), "spec", causes);
  if (t.kind === "ConfigMap" && t.group === "") validateConfigMapSize(obj, causes);
  if (causes.length) throw invalid(t, name, causes);
}
