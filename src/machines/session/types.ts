/**
 * The session's vocabulary: its options, its context, and every event it hears — commands from
 * the bindings, the page and the person's other tabs (platform actors), and the transport.
 * Names only; the rules live in `machine.ts` and the files it names.
 */
import type { DoneActorEvent, ErrorActorEvent } from 'xstate';
import type { Identity, LoadRosterOutput, Metadata, PeerDoc, PeerEvent, PublishOutput, TransportEvent } from '../../transport/types';
import type { ServerClock } from '../clock';
import type { Roster } from '../roster';

/** Options of `start()`; the manifest's `presence` block and `createPresence` give the same keys as defaults. */
export interface StartOptions {
  /** Flip to `away` while none of the person's tabs is visible. Default true. */
  auto?: boolean;
  /** Status published when tracking begins. Default "online" (a running session keeps its own). */
  status?: string;
  /** Heartbeat period in ms, 1 000 … 10 days. Default 25 000. */
  heartbeatMs?: number;
  /**
   * Flip to `away` (with `auto`) after this long without input (pointer, key, touch, wheel,
   * scroll) in the person's visible tabs, in ms: 1 000 … 10 days, or 0 / false for never.
   * Default 300 000 (5 minutes); never where no document is watched (Node). A new value counts
   * from the next input.
   */
  idleMs?: number | false;
}

/** What the person chose to publish; `away` is applied on top of it, never stored in it. */
export interface Chosen {
  status: string;
  metadata: Metadata;
}

/** What the person wants published, as their tabs share it: a status, or no record at all. */
export type Wish = Chosen | 'cleared';

export interface SessionInput {
  roster: Roster;
  clock: ServerClock;
  /** Jitter source in [0, 1] (default Math.random). */
  random?: () => number;
  /** Row id for a first write (default: a time-prefixed random id in Appwrite's alphabet). */
  newId?: () => string;
  /** Defaults for `start()`: the manifest's `presence` block, `createPresence`'s options. */
  defaults?: StartOptions;
  /** The first team scope; `team.changed` moves it. Default none: readable by signed-in users. */
  teamId?: string | null;
  /** The backend's own limits on metadata, beyond the shared ones: why it cannot carry it, or null. */
  checkMetadata?: (metadata: unknown) => string | null;
}

/** Commands from the bindings. */
export type SessionCommand =
  | { type: 'session.start'; options?: StartOptions & { teamId?: string | null } }
  /** `remote`: the wish came from another tab of the person (applied, never shared back). */
  | { type: 'session.set'; status: string; metadata?: Metadata | null; remote?: boolean }
  | { type: 'session.clear'; remote?: boolean }
  /** An error found before the machine (an option that could not be read): shown as `error`. */
  | { type: 'session.error'; message: string }
  | { type: 'session.stop' }
  /**
   * The person is about to sign out (`beforeSignOut()`): tell their other tabs, wait for writes in
   * flight, delete the row while the session still works, then wait for the next identity.
   */
  | { type: 'session.signOut' }
  | { type: 'identity.changed'; identity: Identity | null }
  | { type: 'team.changed'; teamId: string | null };

/** What the page says (the `watchPage` actor). */
export type PageEvent =
  /** This page shown / hidden (`visibilitychange`, not window focus). */
  | { type: 'page.visible' }
  | { type: 'page.hidden' }
  /** Input on this page (pointer, key, touch, wheel, scroll), at most every 500 ms. */
  | { type: 'page.input' }
  /** `pagehide`: the page is going away; `persisted` when it enters the back/forward cache. */
  | { type: 'page.hide'; persisted: boolean }
  /** The browser freezes the page (a background tab stops running, or it enters the bfcache). */
  | { type: 'page.freeze' }
  /** Running again: `resume` after a freeze, or `pageshow` from the back/forward cache. */
  | { type: 'page.resume' };

/** What the person's other tabs say (the `coordinateTabs` actor); their wishes come as commands with `remote`. */
export type TabsEvent =
  /** Only the leader writes; `othersPresent`: another tab of the person is open. */
  | { type: 'tabs.role'; leader: boolean; othersPresent: boolean }
  /** The PERSON's visibility: no tab of theirs visible and active (not idle) / one again. */
  | { type: 'tab.hidden' }
  | { type: 'tab.visible' }
  /** Another tab of the person is signing out: stop writing, delete the row if ours to write, answer. */
  | { type: 'tabs.signout' }
  /** Every other tab of the person has answered our sign-out (or none is open). */
  | { type: 'tabs.quiet' };

/** What the session tells the `coordinateTabs` actor. */
export type TabsCommand =
  /** This tab's attention: its page visible and not idle (input, or shown, within idleMs). */
  | { type: 'visibility'; visible: boolean }
  | { type: 'wish'; wish: Wish }
  /** Ask the person's other tabs to go quiet: the person is signing out. */
  | { type: 'signout' }
  /** Answer another tab's sign-out: nothing of ours is in flight any more. */
  | { type: 'quiet' };

/** Every event the session accepts from outside. */
export type SessionEvent = SessionCommand | PageEvent | TabsEvent | TransportEvent;

/**
 * Settling effects, typed for the named actions. The one write in flight is spawned (not invoked)
 * under the id `write`, so that leaving `tracking` can wait for it.
 */
export type EffectEvent =
  | DoneActorEvent<Identity | null, 'identify'>
  | ErrorActorEvent<unknown, 'identify'>
  | DoneActorEvent<LoadRosterOutput, 'loadRoster'>
  | ErrorActorEvent<unknown, 'loadRoster'>
  | DoneActorEvent<PublishOutput | undefined, 'write'>
  | ErrorActorEvent<unknown, 'write'>
  | DoneActorEvent<void, 'removeRow'>
  | ErrorActorEvent<unknown, 'removeRow'>;

export interface Write {
  kind: 'publish' | 'remove';
  /** The last command this write carries. */
  seq: number;
  chosen: Chosen | null;
}

/**
 * Why the session is leaving its row: `here` — this tab signs out or changes identity (tell the
 * other tabs first; any tab may delete, it holds the same session); `there` — another tab of the
 * person signs out (drain, delete if we write, answer); `team` — a new team scope.
 */
export type Leaving = 'here' | 'there' | 'team';

export interface SessionContext {
  readonly roster: Roster;
  readonly clock: ServerClock;
  readonly random: () => number;
  readonly newId: () => string;
  readonly defaults: StartOptions;
  readonly checkMetadata: (metadata: unknown) => string | null;
  /** Most recent error message, or null. */
  error: string | null;
  /** Most recent transport warning (a frame we could not use), for logging. */
  warning: string | null;
  identity: Identity | null;
  auto: boolean;
  heartbeatMs: number;
  /** No input for this long makes this tab idle (ms); 0 = never. */
  idleMs: number;
  teamId: string | null;
  /** The person's chosen status; null = cleared. */
  desired: Chosen | null;
  /** The chosen status the server last confirmed in this tracking run (reverted to on failure). */
  confirmed: Chosen | null;
  /**
   * The person is not looking: no tab of theirs is visible and active (input, or shown, within
   * idleMs). Idle is folded into the person's visibility, so `away` stays one rule.
   */
  hidden: boolean;
  /** This page's own visibility, for the tab coordinator. */
  pageHidden: boolean;
  /** Only the leader tab writes. */
  leader: boolean;
  /** Another tab of the same person is open. */
  othersPresent: boolean;
  /** The user whose tabs the running `tabs` child coordinates, or null when none runs. */
  tabsOf: string | null;
  /** The chosen status was set in this tab and the person's other tabs have not heard it yet. */
  unshared: boolean;
  /** Our row's id: Appwrite's existing row id wins over the one we made up. */
  presenceId: string | null;
  /** We have, or may have, a row on the server that this page answers for. */
  hasRow: boolean;
  /** `updatedAt` of the row we last wrote (tells a foreign delete from a stale one). */
  rowVersion: number | null;
  /** The roster region has been live at least once in this tracking run (`ready`). */
  loaded: boolean;
  /** The realtime link is up; while it is down the roster is re-listed every heartbeat. */
  linkUp: boolean;
  /** Peer events held while a list is in flight; a mutable queue (10 000 peers, 400 events/s). */
  buffer: PeerEvent[];
  /** A write of our current state is owed. */
  due: boolean;
  inflight: Write | null;
  /** Accepted commands so far; a command's promise settles on the first write that carries it. */
  seq: number;
  confirmedSeq: number;
  failedSeq: number;
  lastWriteFailed: boolean;
  /** Writes failed in a row for a transient reason (5xx, network): sets the retry backoff. */
  failures: number;
  /** Tracking was asked for and not stopped: a new identity resumes it. */
  wanted: boolean;
  /** `start()` arrived while stopping: start again once stopped. */
  restart: boolean;
  /** Why `switching` is removing the row; null outside it. */
  leaving: Leaving | null;
  /** The page left or froze while running: it starts again, as it was, when it resumes. */
  resumable: boolean;
}

export type { Identity, Metadata, PeerDoc, PeerEvent };
