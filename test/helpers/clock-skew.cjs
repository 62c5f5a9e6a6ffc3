// Preloaded into a Baton process (`node -r`, BATON_NODE_ARGS) to run it on a clock BATON_TEST_CLOCK_SKEW_MS off
// this machine's: a media server on a host whose clock drifted, without touching the machine's clock.
const skewMs = Number(process.env.BATON_TEST_CLOCK_SKEW_MS || 0);
const RealDate = Date;
const realNow = RealDate.now;
class SkewedDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(realNow() + skewMs);
    else super(...args);
  }
  static now() {
    return realNow() + skewMs;
  }
}
globalThis.Date = SkewedDate;
