import { describe, expect, it } from "vitest";
import { metricNames } from "#src/analysis/metric-names.ts";

describe("metric names a query reads", () => {
  it("finds selector names and exact __name__ matchers, not functions, labels or keywords", () => {
    expect(
      metricNames(
        'sum by (le) (rate(a_bucket{x="y"}[1m])) / on(le) group_left b + {__name__="c", z!="1"} + {__name__=~"d.*"} + vector(1) + count(up offset 5m)',
      ),
    ).toEqual(["a_bucket", "b", "c", "up"]);
  });

  it("gives up on a syntax error (Prometheus then names it)", () => {
    expect(metricNames("sum(rate(foo[1m]) by (le")).toBeUndefined();
  });
});
