// Preloaded with `node --import` (NODE_OPTIONS) into a bin a scenario runs: that process's wall clock (Date) runs
// RELEASE_GATE_TEST_CLOCK_SKEW_MS ahead of the machine's, as on a runner whose clock is set wrong. Timers and
// performance.now() are untouched, as they are on such a machine.
const skew = Number(process.env.RELEASE_GATE_TEST_CLOCK_SKEW_MS ?? 0);
const RealDate = globalThis.Date;

class SkewedDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(RealDate.now() + skew);
    else super(...args);
  }

  static now() {
    return RealDate.now() + skew;
  }
}

globalThis.Date = SkewedDate;
