/**
 * Ghost time after sign-outs, identity switches and team switches: from the end of each action,
 * how long any OTHER person's tab still lists the identity that left (sign-out, switch) or, after
 * a team switch, how long a tab scoped to the team they left still lists them. Exact, not polled:
 * a roster changes only when its controller notifies, so every tab reports each change
 * (`observe`) and a listing lasts until the change that ended it.
 *
 * A sign-out or a switch retires its identity for good (people come back as new identities), so
 * its watch runs to the end of the run; a team switch's watch ends when the same person begins
 * their next action (they may come back to that team). The goal is none beyond `GOAL_MS`; an
 * injected fault that holds deliveries when the action ends (a pause, or a socket drop and its
 * reconnect) moves the deadline to the fault's end + `GOAL_MS` — those figures are reported apart.
 */

export const GOAL_MS = 2_000;
/** An event published this long ago should have reached a connected socket. */
export const DELIVERY_ALLOWANCE_MS = 500;

export interface Observer {
  /** Unique per tab. */
  key: string;
  /** The person the tab belongs to: their own tabs are not observers of their actions. */
  owner: object;
  /** Running and tracking: a stopped or crashed tab's roster is no one's view. */
  active(): boolean;
  /** The team the tab is scoped to now. */
  scope(): string | null;
  lists(userId: string): boolean;
}

/** A time span in which injected faults held deliveries back. */
export interface Lag {
  from: number;
  to: number;
}

export interface GhostWatchResult<A> {
  action: A;
  endedAt: number;
  /** Last moment some observer listed them, minus endedAt (0 when none did after endedAt). */
  ghostMs: number;
  /** ghostMs beyond GOAL_MS. */
  beyondMs: number;
  /** Beyond the deadline moved by injected delivery lag. */
  beyondLagMs: number;
  deadline: number;
  /** Still listed when the watch ended. */
  open: boolean;
  /** Who listed them last, and when they stopped (for messages). */
  lastObserver: string | null;
}

interface Watch<A> {
  action: A;
  owner: object;
  userId: string;
  /** undefined: any scope (an identity that left); else the team the person left. */
  scope: string | null | undefined;
  endedAt: number;
  listing: Map<string, number>;
  lastListed: number;
  lastObserver: string | null;
  closed: boolean;
  open: boolean;
}

export class GhostWatch<A> {
  private readonly watches: Watch<A>[] = [];

  constructor(private readonly observers: () => Observer[]) {}

  /** Start watching `userId` from `endedAt` (the action's end): now every observer is checked. */
  begin(action: A, owner: object, userId: string, scope: string | null | undefined, endedAt: number): void {
    const watch: Watch<A> = { action, owner, userId, scope, endedAt, listing: new Map(), lastListed: -Infinity, lastObserver: null, closed: false, open: false };
    this.watches.push(watch);
    for (const observer of this.observers()) this.check(watch, observer, endedAt);
  }

  /** An observer's roster changed (or it crashed or stopped). */
  observe(observer: Observer, at = Date.now()): void {
    for (const watch of this.watches) if (!watch.closed) this.check(watch, observer, at);
  }

  /** The person begins another action: their team-switch watches end here. */
  endTeamWatches(owner: object, at = Date.now()): void {
    for (const watch of this.watches) if (!watch.closed && watch.owner === owner && watch.scope !== undefined) this.close(watch, at, false);
  }

  /** End every watch; `lags` are the spans in which injected faults held deliveries. */
  finish(lags: readonly Lag[], at = Date.now()): GhostWatchResult<A>[] {
    for (const watch of this.watches) if (!watch.closed) this.close(watch, at, true);
    return this.watches.map((watch) => {
      const ghostMs = Math.max(0, watch.lastListed - watch.endedAt);
      const deadline = lagDeadline(watch.endedAt, lags) + GOAL_MS;
      return {
        action: watch.action,
        endedAt: watch.endedAt,
        ghostMs,
        beyondMs: Math.max(0, ghostMs - GOAL_MS),
        beyondLagMs: Math.max(0, watch.lastListed - deadline),
        deadline,
        open: watch.open,
        lastObserver: watch.lastObserver,
      };
    });
  }

  private check(watch: Watch<A>, observer: Observer, at: number): void {
    if (observer.owner === watch.owner) return;
    const listed =
      observer.active() && (watch.scope === undefined || observer.scope() === watch.scope) && observer.lists(watch.userId);
    const since = watch.listing.get(observer.key);
    if (listed && since === undefined) watch.listing.set(observer.key, Math.max(at, watch.endedAt));
    if (!listed && since !== undefined) {
      watch.listing.delete(observer.key);
      this.note(watch, observer.key, at);
    }
  }

  private close(watch: Watch<A>, at: number, open: boolean): void {
    for (const key of watch.listing.keys()) {
      this.note(watch, key, at);
      watch.open ||= open;
    }
    watch.listing.clear();
    watch.closed = true;
  }

  private note(watch: Watch<A>, key: string, until: number): void {
    if (until >= watch.lastListed) {
      watch.lastListed = until;
      watch.lastObserver = key;
    }
  }
}

/**
 * The moment deliveries were no longer held back after `from`: a lag in effect then (or starting
 * within the delivery allowance) moves it to the lag's end, and so does a lag that starts while
 * the previous one still holds deliveries — a gap in between would have let the event through.
 */
export function lagDeadline(from: number, lags: readonly Lag[], allowanceMs = DELIVERY_ALLOWANCE_MS): number {
  let end = from;
  for (let moved = true; moved; ) {
    moved = false;
    for (const lag of lags) {
      if (lag.from <= end + allowanceMs && lag.to > end) {
        end = lag.to;
        moved = true;
      }
    }
  }
  return end;
}
