/**
 * One tab's part in coordinating a person's tabs in one browser: who writes, whether the person
 * is looking at any tab, what they last asked for, and who is signing out. Pure: no DOM;
 * `platform/tabs.ts` turns Web Locks and BroadcastChannel into these events and carries the
 * emitted ones out.
 * Invariants: at most one leader per (project, user) — guaranteed by the Web Lock, not by messages;
 * a role is announced only once the lock has answered; a peer is forgotten only on its `bye` or when
 * the locks prove it gone (never on silence), so "am I the last tab?" errs towards "no"; a sign-out
 * is reported quiet only once every tab known then or holding a tab lock in the snapshot asked for
 * with it has answered or left — a tab that has just joined may not have met the others yet.
 */
import { assign, emit, type SnapshotFrom } from 'xstate';
import type { Wish } from './session/types';
import { setup } from './setup';

export type { Wish } from './session/types';

/** A wish with its stamp. Last writer wins by `at`, ties broken by the originating tab's id. */
export interface StampedWish {
  wish: Wish;
  /** Local milliseconds when it was made (never earlier than the wish it replaced). */
  at: number;
  /** The tab where the person made it. */
  tabId: string;
}

/** What tabs say to each other on the BroadcastChannel; `from` is the sender's tab id. */
export type TabMessage =
  | { type: 'hello'; from: string; visible: boolean }
  | { type: 'state'; from: string; visible: boolean }
  | { type: 'bye'; from: string }
  | { type: 'rollcall'; from: string }
  | { type: 'wish'; from: string; wish: StampedWish }
  /** The person is signing out in the sender's tab: stop writing, delete the row if you write it, then say quiet. */
  | { type: 'signout'; from: string }
  /** The answer to a sign-out: nothing of the sender's is in flight any more. */
  | { type: 'quiet'; from: string };

export interface Peer {
  visible: boolean;
  /** When we last heard from it, in the adapter's tick order: a lock snapshot asked for later may drop it. */
  lastHeard: number;
}

export interface TabsContext {
  tabId: string;
  /** This tab's own page visibility. */
  visible: boolean;
  /** The person's other tabs, by tab id. */
  peers: Record<string, Peer>;
  /** The person's latest wish across tabs; null until one is made or heard. */
  wish: StampedWish | null;
  /** The role last announced; null while electing. */
  told: { leader: boolean; othersPresent: boolean } | null;
  /** The person's visibility last announced: this tab or any peer visible. */
  anyVisible: boolean;
  /** This tab's sign-out while it waits: who must still answer, who has, and whether the locks were checked. */
  signout: { awaiting: string[]; answered: string[]; verified: boolean } | null;
}

export type TabsEvent =
  /** This tab holds the election lock (held until it leaves). */
  | { type: 'lock.acquired' }
  /** The election lock is held by another tab; this tab waits in its queue. */
  | { type: 'lock.queued' }
  | { type: 'tab.visibility'; visible: boolean }
  /** `at`: when the message arrived, as a strictly increasing local tick shared with `askedAt`. */
  | { type: 'peer.hello'; tabId: string; visible: boolean; at: number }
  | { type: 'peer.state'; tabId: string; visible: boolean; at: number }
  | { type: 'peer.bye'; tabId: string }
  /** A new leader asks every tab to say its state again. */
  | { type: 'peer.rollcall'; tabId: string }
  | { type: 'peer.wish'; wish: StampedWish }
  /** The person set or cleared their status in this tab; `at` = local now. */
  | { type: 'wish.local'; wish: Wish; at: number }
  /** Tab ids whose per-tab lock is held, from a lock snapshot asked for at tick `askedAt`. */
  | { type: 'members.verified'; tabIds: string[]; askedAt: number }
  /** The person signs out in this tab: ask every other tab to go quiet. */
  | { type: 'signout.local' }
  /** Answer the sign-out of another tab: this tab has nothing in flight any more. */
  | { type: 'quiet.local' }
  | { type: 'peer.signout'; tabId: string }
  | { type: 'peer.quiet'; tabId: string }
  | { type: 'tabs.leave' };

export type TabsEmitted =
  /** Maps to the session's `tabs.role`. Only a leader may write. */
  | { type: 'role'; leader: boolean; othersPresent: boolean }
  /** The PERSON's visibility; maps to the session's `tab.visible` / `tab.hidden`. */
  | { type: 'visibility'; anyVisible: boolean }
  /** Another tab's set/clear, to apply locally (`session.set` / `session.clear`); never re-shared. */
  | { type: 'wish'; wish: Wish }
  /** Post this on the channel. */
  | { type: 'broadcast'; message: TabMessage }
  /** Take a lock snapshot and answer with `members.verified`. */
  | { type: 'verify' }
  /** Another tab of the person is signing out (maps to the session's `tabs.signout`). */
  | { type: 'signout' }
  /** Every tab asked has answered this tab's sign-out, or left (the session's `tabs.quiet`). */
  | { type: 'quiet' };

const othersPresent = (context: TabsContext) => Object.keys(context.peers).length > 0;
const anyVisible = (context: TabsContext) =>
  context.visible || Object.values(context.peers).some((peer) => peer.visible);
/** Peers without a lock in the snapshot, unless heard after it was asked for (they were alive then). */
const unverified = (context: TabsContext, { tabIds, askedAt }: { tabIds: string[]; askedAt: number }) =>
  Object.entries(context.peers)
    .filter(([id, peer]) => !tabIds.includes(id) && peer.lastHeard < askedAt)
    .map(([id]) => id);
/** The sign-out in progress without these tabs to wait for (they answered or left). */
const without = (signout: TabsContext['signout'], tabIds: string[]) =>
  signout && { ...signout, awaiting: signout.awaiting.filter((id) => !tabIds.includes(id)) };
/** These tabs are gone: no longer peers, nor waited for by a sign-out. */
const forget = (context: TabsContext, gone: string[]) => ({
  peers: Object.fromEntries(Object.entries(context.peers).filter(([id]) => !gone.includes(id))),
  signout: without(context.signout, gone),
});
/** The event a transition routes to an action: the machine config names it, so it is not checked again at run time. */
type Of<T extends TabsEvent['type']> = Extract<TabsEvent, { type: T }>;
/**
 * Post a message of this type from this tab on the channel: hello and state say its visibility, a
 * wish the person's latest (only where the config knows there is one: after keeping one, or
 * guarded by `helloToAnswer`).
 */
const say = (type: TabMessage['type']) => ({ type: 'say', params: type }) as const;
/** An event that a tab's message became, naming the tab that sent it. */
type FromTab = Extract<TabsEvent, { tabId: string }>;
/** Said by another tab, not echoed from this one. */
const fromPeer = (context: TabsContext, event: FromTab) => event.tabId !== context.tabId;
const isNewer = (a: StampedWish, b: StampedWish | null) =>
  !b || a.at > b.at || (a.at === b.at && a.tabId > b.tabId);

/** Take this role and announce it. */
const takeRole = (leader: boolean) => [{ type: 'takeRole', params: { leader } }, 'tellRole'] as const;
/** Taking the lead: announce it, ask everyone to report, and check who is really there (when anyone else is). */
const lead = [
  { guard: 'othersPresent', target: 'leader', actions: [...takeRole(true), say('rollcall'), 'verify'] },
  { target: 'leader', actions: [...takeRole(true), say('rollcall')] },
] as const;
/** The periodic check against the locks, when there is anyone to check; re-entering restarts its timer. */
const recheck = (target: 'leader' | 'follower') => ({
  verifyEvery: [{ guard: 'othersPresent', target, reenter: true, actions: 'verify' }, { target, reenter: true }],
} as const);

export const tabsMachine = setup({
  types: {
    input: {} as { tabId: string; visible: boolean },
    context: {} as TabsContext,
    events: {} as TabsEvent,
    emitted: {} as TabsEmitted,
  },
  delays: {
    /**
     * How often a tab that knows peers checks them against the locks. A crashed tab (no `bye`)
     * lingers at most this long; hidden tabs are throttled to a minute anyway.
     */
    // A tab that closes without its `bye` arriving is found by this check: it bounds how long
    // the last remaining tab may wrongly think it is not last (and so skip the final delete).
    verifyEvery: 2_000,
  },
  // Like the actions, a guard reads the event its transition is on: the config names its type.
  guards: {
    fromPeer: ({ context, event }) => fromPeer(context, event as FromTab),
    knownPeer: ({ context, event }) => Object.hasOwn(context.peers, (event as Of<'peer.bye'>).tabId),
    visibilityChanged: ({ context, event }) => (event as Of<'tab.visibility'>).visible !== context.visible,
    newerWish: ({ context, event }) => isNewer((event as Of<'peer.wish'>).wish, context.wish),
    peersGone: ({ context, event }) => unverified(context, event as Of<'members.verified'>).length > 0,
    othersPresent: ({ context }) => othersPresent(context),
    /** A tab said hello, and there is a wish to tell it. */
    helloToAnswer: ({ context, event }) => fromPeer(context, event as FromTab) && context.wish !== null,
    /** The role announced no longer says whether others are present. */
    othersChanged: ({ context }) => context.told !== null && context.told.othersPresent !== othersPresent(context),
    anyVisibleChanged: ({ context }) => anyVisible(context) !== context.anyVisible,
    /** Everyone asked (and every tab the locks showed) has answered this tab's sign-out. */
    allQuiet: ({ context }) => context.signout !== null && context.signout.verified && context.signout.awaiting.length === 0,
  },
  actions: {
    setVisible: assign({ visible: ({ event }) => (event as Of<'tab.visibility'>).visible }),
    upsertPeer: assign({
      peers: ({ context, event }) => {
        const { tabId, visible, at } = event as Of<'peer.hello' | 'peer.state'>;
        return { ...context.peers, [tabId]: { visible, lastHeard: at } };
      },
    }),
    removePeer: assign(({ context, event }) => forget(context, [(event as Of<'peer.bye'>).tabId])),
    dropUnverified: assign(({ context, event }) => forget(context, unverified(context, event as Of<'members.verified'>))),
    /** Ask every tab: those known now, and (once the locks answer) those that hold a tab lock. */
    askQuiet: assign(({ context }) => ({ signout: { awaiting: Object.keys(context.peers), answered: [], verified: false } })),
    /** Ask the adapter for a lock snapshot (it answers with `members.verified`). */
    verify: emit({ type: 'verify' }),
    heardQuiet: assign(({ context, event }) => {
      const { tabId } = event as Of<'peer.quiet'>;
      const signout = without(context.signout, [tabId]);
      if (!signout || signout.answered.includes(tabId)) return { signout };
      return { signout: { ...signout, answered: [...signout.answered, tabId] } };
    }),
    /** Tabs alive by the lock snapshot must answer too, even those this tab has not met yet. */
    noteMembers: assign(({ context, event }) => {
      const { signout } = context;
      if (!signout) return {};
      const more = (event as Of<'members.verified'>).tabIds.filter((id) => id !== context.tabId && !signout.answered.includes(id) && !signout.awaiting.includes(id));
      return { signout: { ...signout, awaiting: [...signout.awaiting, ...more], verified: true } };
    }),
    endSignout: assign({ signout: null }),
    tellQuiet: emit({ type: 'quiet' }),
    relaySignout: emit({ type: 'signout' }),
    keepLocalWish: assign({
      wish: ({ context, event }) => {
        const { wish, at } = event as Of<'wish.local'>;
        // Never stamp below the wish being replaced, or peers would keep the older one.
        return { wish, at: context.wish && at <= context.wish.at ? context.wish.at + 1 : at, tabId: context.tabId };
      },
    }),
    adoptPeerWish: assign({ wish: ({ event }) => (event as Of<'peer.wish'>).wish }),
    tellWish: emit(({ event }) => ({ type: 'wish', wish: (event as Of<'peer.wish'>).wish.wish })),
    say: emit(({ context }, type: TabMessage['type']) => ({
      type: 'broadcast',
      message: (type === 'wish'
        ? { type, from: context.tabId, wish: context.wish! }
        : type === 'hello' || type === 'state'
          ? { type, from: context.tabId, visible: context.visible }
          : { type, from: context.tabId }) as TabMessage,
    })),
    takeRole: assign({ told: ({ context }, params: { leader: boolean }) => ({ leader: params.leader, othersPresent: othersPresent(context) }) }),
    /** Re-announce the role with whether others are present now. */
    retell: assign({ told: ({ context }) => ({ leader: context.told!.leader, othersPresent: othersPresent(context) }) }),
    tellRole: emit(({ context }) => ({ type: 'role', ...context.told! })),
    noteAnyVisible: assign({ anyVisible: ({ context }) => anyVisible(context) }),
    tellVisibility: emit(({ context }) => ({ type: 'visibility', anyVisible: context.anyVisible })),
  },
}).createMachine({
  id: 'tabs',
  context: ({ input }) => ({
    tabId: input.tabId,
    visible: input.visible,
    peers: {},
    wish: null,
    told: null,
    anyVisible: input.visible,
    signout: null,
  }),
  entry: say('hello'),
  initial: 'electing',
  // What every change of peers, visibility or answers means, said once and in this order: the
  // role (others present?), the person's visibility, and the end of this tab's sign-out.
  always: [
    { guard: 'othersChanged', actions: ['retell', 'tellRole'] },
    { guard: 'anyVisibleChanged', actions: ['noteAnyVisible', 'tellVisibility'] },
    { guard: 'allQuiet', actions: ['endSignout', 'tellQuiet'] },
  ],
  // Every tab, whatever its role, keeps the whole picture: a follower may lead next.
  on: {
    'tab.visibility': { guard: 'visibilityChanged', actions: ['setVisible', say('state')] },
    'peer.hello': [
      { guard: 'helloToAnswer', actions: ['upsertPeer', say('state'), say('wish')] },
      { guard: 'fromPeer', actions: ['upsertPeer', say('state')] },
    ],
    'peer.state': { guard: 'fromPeer', actions: 'upsertPeer' },
    'peer.bye': { guard: 'knownPeer', actions: 'removePeer' },
    'peer.rollcall': { guard: 'fromPeer', actions: say('state') },
    'peer.wish': { guard: 'newerWish', actions: ['adoptPeerWish', 'tellWish'] },
    'wish.local': { actions: ['keepLocalWish', say('wish')] },
    'members.verified': [{ guard: 'peersGone', actions: ['dropUnverified', 'noteMembers'] }, { actions: 'noteMembers' }],
    'signout.local': { actions: ['askQuiet', say('signout'), 'verify'] },
    'quiet.local': { actions: say('quiet') },
    'peer.signout': { guard: 'fromPeer', actions: 'relaySignout' },
    'peer.quiet': { guard: 'fromPeer', actions: 'heardQuiet' },
    'tabs.leave': '.left',
  },
  states: {
    electing: {
      on: {
        'lock.acquired': lead,
        'lock.queued': { target: 'follower', actions: takeRole(false) },
      },
    },
    // Role work sits on the transitions in, so the periodic re-entry only restarts the timer.
    leader: {
      after: recheck('leader'),
    },
    follower: {
      on: {
        // The leader left or crashed: its lock went to the next tab in the queue, this one.
        'lock.acquired': lead,
      },
      after: recheck('follower'),
    },
    left: { type: 'final', entry: say('bye') },
  },
});

/**
 * True when this tab is the person's last one: it leads and knows no other tab. A follower is never
 * last (another tab holds the lock); a tab still electing does not know yet, so it says no.
 */
export function isLastTab(snapshot: SnapshotFrom<typeof tabsMachine>): boolean {
  return snapshot.context.told?.leader === true && !othersPresent(snapshot.context);
}
