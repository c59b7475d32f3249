/**
 * The server clock as this page sees it: `offset = serverTime − localTime`, kept as an interval
 * [lo, hi] that certainly held when it was sampled and is widened by DRIFT (1 ms per second) as it
 * ages. The estimate is the interval's midpoint, or its lower end when there is no upper end.
 * Invariants: `now()` reads Date.now() at call time; an estimate only changes through a sample.
 */

/**
 * How fast an old sample loses its authority, in ms of doubt per ms of age. Quartz drifts by
 * ~0.0001 and an NTP slew by ≤ 0.0005, so 0.001 keeps the truth inside an aged interval while a
 * round trip 80 ms slower than the held one still takes over within a minute (one heartbeat or two).
 */
export const DRIFT = 0.001;

/**
 * Offset between this page's clock and the server's, from timestamps the server hands out.
 *
 * Round trips give an interval: the server stamped `serverTime` somewhere between sending and
 * receiving, so `serverTime − receivedAtLocal ≤ offset ≤ serverTime − sentAtLocal`. The narrowest
 * interval wins once both are aged to the new sample's time (a smaller round trip wins, and an old
 * small one gives way to a fresh one after a while, so a drifting clock is followed). A sample that
 * does not overlap the held interval at all means one of the clocks stepped (NTP, a hand-set clock):
 * the new sample replaces the old one at once.
 *
 * Event timestamps only give a lower bound (the server stamped before we received). They correct the
 * estimate only when it is provably too low, i.e. the bound is above the held interval; then the bound
 * itself becomes the estimate, which errs towards keeping peers a little longer rather than dropping
 * them early. Before any round trip, the highest bound seen is the estimate.
 *
 * @example
 * const clock = new ServerClock();
 * clock.sampleRoundTrip(Date.parse(doc.$updatedAt), sentAtLocal, receivedAtLocal);
 * const expired = peer.expiresAt <= clock.now();
 */
export class ServerClock {
  private lo = -Infinity;
  private hi = Infinity;
  /** Local time the interval was true at. */
  private at = 0;
  private estimate = 0;

  /** serverTime − localTime in ms (0 until the first sample). */
  get offset(): number {
    return this.estimate;
  }

  /** Server time now, in ms since the epoch. */
  now(): number {
    return Date.now() + this.estimate;
  }

  /** The local time at which the server clock reads `serverTime`. */
  toLocal(serverTime: number): number {
    return serverTime - this.estimate;
  }

  /**
   * A request/response pair: `serverTime` was stamped by the server while the request was out.
   * Returns true when the estimate changed.
   */
  sampleRoundTrip(serverTime: number, sentAtLocal: number, receivedAtLocal: number): boolean {
    if (!finite(serverTime) || !finite(sentAtLocal) || !finite(receivedAtLocal)) return false;
    if (receivedAtLocal < sentAtLocal) return false;
    const lo = serverTime - receivedAtLocal;
    const hi = serverTime - sentAtLocal;
    const doubt = this.doubtAt(receivedAtLocal);
    const heldLo = this.lo - doubt;
    const heldHi = this.hi + doubt;
    const disjoint = hi < heldLo || lo > heldHi;
    if (!disjoint && hi - lo > heldHi - heldLo) return false;
    return this.hold(lo, hi, receivedAtLocal, (lo + hi) / 2);
  }

  /**
   * An event stamped `serverTime` by the server and received at `receivedAtLocal`: the offset is at
   * least their difference. Returns true when the estimate changed.
   */
  sampleLowerBound(serverTime: number, receivedAtLocal: number): boolean {
    if (!finite(serverTime) || !finite(receivedAtLocal)) return false;
    const bound = serverTime - receivedAtLocal;
    const unbounded = this.hi === Infinity;
    // Without an upper end the highest lower bound is all we know; with one, only a bound above the
    // whole (aged) interval proves the estimate wrong.
    if (unbounded ? bound <= this.lo : bound <= this.hi + this.doubtAt(receivedAtLocal)) return false;
    return this.hold(bound, Infinity, receivedAtLocal, bound);
  }

  private doubtAt(localTime: number): number {
    return Math.abs(localTime - this.at) * DRIFT;
  }

  private hold(lo: number, hi: number, at: number, estimate: number): boolean {
    this.lo = lo;
    this.hi = hi;
    this.at = at;
    const changed = estimate !== this.estimate;
    this.estimate = estimate;
    return changed;
  }
}

function finite(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
