/**
 * The metric names a PromQL query reads, found with Prometheus's own Lezer grammar (@prometheus-io/lezer-promql):
 * each vector selector's name, or its `__name__="…"` matcher. Preflight asks Prometheus whether it has ever
 * seen them, because a misspelt metric is not an error in PromQL: the query just returns nothing, forever.
 */
import type { SyntaxNode } from "@lezer/common";
import { parser } from "@prometheus-io/lezer-promql";

/** Metric names in `query`, or undefined when the grammar finds a syntax error (Prometheus then says what it is). */
export function metricNames(query: string): string[] | undefined {
  const tree = parser.parse(query);
  const names = new Set<string>();
  let broken = false;
  tree.iterate({
    enter(ref) {
      if (ref.type.isError) broken = true;
      if (ref.name !== "VectorSelector") return;
      const name = ref.node.getChild("Identifier");
      if (name) names.add(query.slice(name.from, name.to));
      for (const matcher of ref.node.getChild("LabelMatchers")?.getChildren("UnquotedLabelMatcher") ?? []) {
        const exact = nameMatcher(query, matcher);
        if (exact) names.add(exact);
      }
    },
  });
  return broken ? undefined : [...names];
}

/** `__name__="foo"` (an exact match) gives foo; any other matcher gives nothing. */
function nameMatcher(query: string, m: SyntaxNode): string | undefined {
  const label = m.getChild("LabelName");
  const op = m.getChild("MatchOp");
  const value = m.getChild("StringLiteral");
  if (!label || !op || !value || query.slice(label.from, label.to) !== "__name__") return undefined;
  if (query.slice(op.from, op.to) !== "=") return undefined;
  try {
    return JSON.parse(query.slice(value.from, value.to).replace(/^'(.*)'$/, '"$1"')) as string;
  } catch {
    return undefined;
  }
}
