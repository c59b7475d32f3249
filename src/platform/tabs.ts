/**
 * The person's tabs in this browser: `joinTabs` runs the tabs machine over Web Locks and
 * BroadcastChannel; `coordinateTabs()` (the session's `coordinateTabs` actor) and
 * `createTabCoordinator()` (subscribers, and a page of its own to watch) are built on it, so the
 * CDN script carries only what the session uses. At most one leader per key (project, user) —
 * guaranteed by the Web Lock `appwrite-presence:<key>`,
 * held for the tab's life and handed to the next queued tab the moment it is released, not by
 * messages. Each tab also holds `appwrite-presence:<key>:tab:<id>` before it says hello, so a lock
 * snapshot proves who is alive. Globals are looked up when a coordinator is created, never at
 * import; without Web Locks or BroadcastChannel a tab is leader, alone, and nothing throws.
 */
import { createActor, fromCallback } from 'xstate';
import type { SessionEvent, TabsCommand, TabsInput } from '../machines/session';
import {
  isLastTab as lastTabIn,
  tabsMachine,
  type StampedWish,
  type TabsEmitted,
  type TabsEvent,
  type Wish,
} from '../machines/tabs';
import { isRecord } from '../records';
import { isVisible, onPageHide, watchVisibility, type DocumentLike, type WindowLike } from './page';

export type { Wish } from '../machines/tabs';

/** What a coordinator tells its subscribers. */
export type TabEvent = Extract<TabsEmitted, { type: 'role' | 'visibility' | 'wish' | 'signout' | 'quiet' }>;

/** The part of `navigator.locks` we use (exclusive locks only). */
export interface LockManagerLike {
  request(
    name: string,
    options: { ifAvailable?: boolean; signal?: AbortSignal },
    callback: (lock: unknown) => unknown,
  ): Promise<unknown>;
  query(): Promise<{ held?: { name?: string }[]; pending?: { name?: string }[] }>;
}

export interface BroadcastChannelLike {
  postMessage(message: unknown): void;
  close(): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
}

export type BroadcastChannelConstructor = new (name: string) => BroadcastChannelLike;

export interface TabCoordinatorOptions {
  /** Who the tabs belong to, e.g. `${projectId}:${userId}`: a new identity needs a new coordinator. */
  key: string;
  /** Defaults to `globalThis.document`; null = visibility only through `setVisible()`. */
  document?: DocumentLike | null;
  /** This page's visibility at first, when no document is watched. Default true. */
  visible?: boolean;
  /** Defaults to `globalThis.window`; null = no pagehide. */
  window?: WindowLike | null;
  /** Defaults to `globalThis.navigator.locks`; null = unavailable (always leader, alone). */
  locks?: LockManagerLike | null;
  /** Defaults to `globalThis.BroadcastChannel`; null = unavailable (always leader, alone). */
  BroadcastChannel?: BroadcastChannelConstructor | null;
  /** Defaults to a random UUID. */
  tabId?: string;
}

export interface TabCoordinator {
  /**
   * Listen to role, visibility and remote wishes. The listener is called at once with the current
   * role (when decided), the person's visibility, and the latest wish made in another tab.
   */
  subscribe(listener: (event: TabEvent) => void): () => void;
  /** Tell the other tabs the person set or cleared their status here. */
  shareWish(wish: Wish): void;
  /** This page shown or hidden (for a coordinator that watches no document itself). */
  setVisible(visible: boolean): void;
  /** The person signs out here: ask the other tabs to go quiet; `quiet` is reported once all answered. */
  signOut(): void;
  /** Answer another tab's sign-out: nothing of this tab's is in flight any more. */
  quiet(): void;
  /** Say bye and release the locks: the next tab in the queue leads at once. Idempotent. */
  leave(): void;
  /**
   * Synchronous, for `pagehide`: true when no other tab of the person is known to be open.
   * A follower is never last (someone holds the lock); uncertainty answers false.
   */
  isLastTab(): boolean;
  /** `leave()` and drop every subscriber. */
  dispose(): void;
}

/** What joining needs: who the tabs belong to, and the browser's parts (defaults: the globals). */
type JoinOptions = Omit<TabCoordinatorOptions, 'document' | 'window'> & { visible: boolean };

/**
 * Join the person's tabs: this tab's tabs machine, elected by the Web Lock and talking over the
 * BroadcastChannel; what it reports goes to `onEvent`. The core of `createTabCoordinator` and of
 * the session's `coordinateTabs`; it watches no page of its own.
 */
function joinTabs(options: JoinOptions, onEvent: (event: TabEvent) => void) {
  const locks = options.locks === undefined ? globalThis.navigator?.locks : options.locks;
  const Channel = options.BroadcastChannel === undefined ? globalThis.BroadcastChannel : options.BroadcastChannel;
  const tabId = options.tabId ?? newTabId();
  const name = `appwrite-presence:${options.key}`;
  const tabLockPrefix = `${name}:tab:`;

  const actor = createActor(tabsMachine, { input: { tabId, visible: options.visible } });
  let channel: BroadcastChannelLike | null = null;
  let left = false;
  let started = false;
  // The lock callbacks return this promise: a lock is held until it settles.
  let releaseLocks = () => {};
  const held = new Promise<void>((resolve) => (releaseLocks = resolve));
  // Orders what was heard against when a lock snapshot was asked for (a clock's millisecond can hold both).
  let tick = 0;
  // Every runtime this ES2022 code runs on has AbortController (browsers had it before Web Locks; Node 15+).
  const abort = new AbortController();

  // What the machine emits: a message to post, a lock check to make, or news for `onEvent`.
  actor.on('*', (event) => {
    if (event.type === 'broadcast') {
      try {
        channel?.postMessage(event.message);
      } catch {
        // A closed channel (the page is going away): there is nobody left to tell.
      }
    } else if (event.type === 'verify') {
      const askedAt = ++tick;
      // Without Web Locks this tab is alone: an empty snapshot, nobody else is there to find.
      Promise.resolve(locks?.query()).then((snapshot = {}) => {
        if (left) return;
        const tabIds = [...(snapshot.held ?? []), ...(snapshot.pending ?? [])]
          .map((lock) => lock.name ?? '')
          .filter((lockName) => lockName.startsWith(tabLockPrefix))
          .map((lockName) => lockName.slice(tabLockPrefix.length));
        actor.send({ type: 'members.verified', tabIds, askedAt });
      }, ignore);
    } else {
      onEvent(event);
    }
  });

  /** Uncoordinated: the only tab we can know of, so it leads. */
  const alone = () => {
    started = true;
    actor.start();
    actor.send({ type: 'lock.acquired' });
  };

  if (!locks || !Channel) {
    alone();
  } else {
    const signal = { signal: abort.signal };
    // A lock is held until its callback's promise settles: `held`, until the tab leaves. A grant
    // that arrives after leaving is handed straight back.
    const lead = () => {
      if (left) return undefined;
      actor.send({ type: 'lock.acquired' });
      return held;
    };
    const join = () => {
      if (left) return undefined;
      const joined = new Channel(name);
      joined.addEventListener('message', (event) => {
        const machineEvent = toMachineEvent(event.data, ++tick);
        if (machineEvent && !left) actor.send(machineEvent);
      });
      channel = joined;
      started = true;
      actor.start(); // says hello
      locks
        .request(name, { ifAvailable: true }, (lock) => {
          if (lock) return lead();
          if (!left) {
            actor.send({ type: 'lock.queued' });
            locks.request(name, signal, lead).catch(ignore); // rejected only when leave() aborts it
          }
          return undefined;
        })
        .catch(ignore);
      return held;
    };
    // The tab's own lock comes first: a tab that has said hello is always in a lock snapshot.
    // Refused outright (an opaque origin, a sandboxed frame): coordinate with nobody.
    locks.request(tabLockPrefix + tabId, signal, join).catch(() => {
      if (!left && !started) alone();
    });
  }

  const send = (event: TabsEvent) => {
    if (!left) actor.send(event);
  };
  return {
    actor,
    tabId,
    isLeft: () => left,
    shareWish: (wish: Wish) => send({ type: 'wish.local', wish, at: Date.now() }),
    /** Before the machine runs, its input says the visibility; a change meanwhile is not lost. */
    setVisible: (visible: boolean) => send({ type: 'tab.visibility', visible }),
    signOut: () => send({ type: 'signout.local' }),
    quiet: () => send({ type: 'quiet.local' }),
    /** Say bye and release the locks: the next tab in the queue leads at once. Idempotent. */
    leave() {
      if (left) return;
      left = true;
      if (started) actor.send({ type: 'tabs.leave' }); // posts bye
      releaseLocks();
      abort.abort();
      channel?.close();
    },
  };
}

/**
 * Coordinate this tab with the person's other tabs in the same browser.
 *
 * @example
 * const tabs = createTabCoordinator({ key: `${projectId}:${userId}` });
 * tabs.subscribe((e) => {
 *   if (e.type === 'role') session.send({ type: 'tabs.role', leader: e.leader, othersPresent: e.othersPresent });
 *   if (e.type === 'visibility') session.send({ type: e.anyVisible ? 'tab.visible' : 'tab.hidden' });
 *   if (e.type === 'wish') session.send(e.wish === 'cleared' ? { type: 'session.clear' } : { type: 'session.set', ...e.wish });
 * });
 * onPageHide(window, () => { if (tabs.isLastTab()) sendKeepaliveDelete(); });
 */
export function createTabCoordinator(options: TabCoordinatorOptions): TabCoordinator {
  const doc = options.document === undefined ? globalThis.document : options.document;
  const win = options.window === undefined ? globalThis.window : options.window;
  const listeners = new Set<(event: TabEvent) => void>();
  const deliver = (listener: (event: TabEvent) => void, event: TabEvent) => {
    try {
      listener(event);
    } catch (error) {
      report(error); // one broken listener must not silence the others, nor the machine
    }
  };
  const tabs = joinTabs({ ...options, visible: doc ? isVisible(doc) : (options.visible ?? true) }, (event) => {
    for (const listener of [...listeners]) deliver(listener, event);
  });
  const { actor } = tabs;
  const cleanups: (() => void)[] = [];
  if (doc) cleanups.push(watchVisibility(doc, (visible) => actor.send({ type: 'tab.visibility', visible })));
  if (win) cleanups.push(onPageHide(win, () => leave()));
  function leave() {
    tabs.leave();
    for (const cleanup of cleanups.splice(0)) cleanup();
  }

  return {
    subscribe(listener) {
      listeners.add(listener);
      const { context } = actor.getSnapshot();
      if (!tabs.isLeft()) {
        if (context.told) deliver(listener, { type: 'role', ...context.told });
        deliver(listener, { type: 'visibility', anyVisible: context.anyVisible });
        if (context.wish && context.wish.tabId !== tabs.tabId) deliver(listener, { type: 'wish', wish: context.wish.wish });
      }
      return () => listeners.delete(listener);
    },
    shareWish: tabs.shareWish,
    setVisible: tabs.setVisible,
    signOut: tabs.signOut,
    quiet: tabs.quiet,
    leave,
    isLastTab: () => lastTabIn(actor.getSnapshot()),
    dispose() {
      leave();
      listeners.clear();
    },
  };
}

function ignore() {}

/** As an event listener's error is reported: `reportError` where there is one, else the console. */
function report(error: unknown) {
  if (typeof globalThis.reportError === 'function') globalThis.reportError(error);
  else console.error(error);
}

function newTabId(): string {
  const uuid = globalThis.crypto?.randomUUID?.();
  return uuid ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

function isStampedWish(value: unknown): value is StampedWish {
  if (!isRecord(value) || typeof value.tabId !== 'string' || !Number.isFinite(value.at)) return false;
  const wish = value.wish;
  return wish === 'cleared' || (isRecord(wish) && typeof wish.status === 'string' && isRecord(wish.metadata));
}

/** The machine event each message type on the channel becomes (no prototype: `toString` is no message type). */
const PEER_EVENTS: Record<string, TabsEvent['type'] | null | undefined> = {
  __proto__: null,
  hello: 'peer.hello',
  state: 'peer.state',
  bye: 'peer.bye',
  rollcall: 'peer.rollcall',
  wish: 'peer.wish',
  signout: 'peer.signout',
  quiet: 'peer.quiet',
};

/**
 * A channel message as a machine event, `at` being the tick it was heard at; null for anything
 * malformed (another version of this library, another script on the same origin). Hello and state
 * say the sender's visibility; a wish carries its stamp; the rest say only who sent them.
 */
export function toMachineEvent(data: unknown, at: number): TabsEvent | null {
  if (!isRecord(data) || typeof data.from !== 'string' || data.from === '') return null;
  const type = PEER_EVENTS[data.type as string];
  const tabId = data.from;
  if (type === 'peer.wish') return isStampedWish(data.wish) ? { type, wish: data.wish } : null;
  if (type === 'peer.hello' || type === 'peer.state') return typeof data.visible === 'boolean' ? { type, tabId, visible: data.visible, at } : null;
  return type ? ({ type, tabId } as TabsEvent) : null;
}

/** Where `coordinateTabs` coordinates: the project (each user gets `${key}:${userId}`) and the browser's parts. */
export type TabsPlatformOptions = Omit<TabCoordinatorOptions, 'document' | 'window' | 'visible'>;

/**
 * The session's `coordinateTabs` actor: a tab coordinator for the identity in its input, its
 * events turned into session events and the session's commands carried out. The session starts
 * one per identity and stops it when the identity goes; the page's visibility comes through the
 * session (one source), so the coordinator watches no document or window of its own.
 *
 * @example
 * sessionMachine.provide({ actors: { coordinateTabs: coordinateTabs({ key: projectId }) } });
 */
export function coordinateTabs(options: TabsPlatformOptions) {
  return fromCallback<TabsCommand, TabsInput>(({ input, sendBack, receive }) => {
    const send = (event: SessionEvent) => sendBack(event);
    const tabs = joinTabs({ ...options, key: `${options.key}:${input.userId}`, visible: !input.hidden }, (event) => {
      if (event.type === 'role') send({ ...event, type: 'tabs.role' }); // leader, othersPresent
      else if (event.type === 'visibility') send({ type: event.anyVisible ? 'tab.visible' : 'tab.hidden' });
      else if (event.type === 'signout') send({ type: 'tabs.signout' });
      else if (event.type === 'quiet') send({ type: 'tabs.quiet' });
      else if (event.wish === 'cleared') send({ type: 'session.clear', remote: true });
      else send({ type: 'session.set', status: event.wish.status, metadata: event.wish.metadata, remote: true });
    });
    // The person's visibility as far as this tab knows yet: its own page's (the others say theirs on hello).
    send({ type: input.hidden ? 'tab.hidden' : 'tab.visible' });
    if (input.wish !== undefined) tabs.shareWish(input.wish);
    if (input.signOut) tabs.signOut();
    receive((command) => {
      if (command.type === 'wish') tabs.shareWish(command.wish);
      else if (command.type === 'visibility') tabs.setVisible(command.visible);
      else if (command.type === 'signout') tabs.signOut();
      else tabs.quiet();
    });
    return () => tabs.leave();
  });
}
