/**
 * Semantic equality for API objects, as apimachinery's `equality.Semantic.DeepEqual`: nil and empty maps or
 * slices are the same thing, and key order never matters.
 */
export function canonicalize(v: unknown): unknown {
  if (Array.isArray(v)) return v.length ? v.map(canonicalize) : undefined;
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const c = canonicalize((v as Record<string, unknown>)[k]);
      if (c !== undefined && c !== null) out[k] = c;
    }
    return Object.keys(out).length ? out : undefined;
  }
  return v;
}

export function canonicalJson(v: unknown): string {
  return JSON.stringify(canonicalize(v) ?? null);
}

export function semanticEqual(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}
