import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActor, type EventFromLogic, type SnapshotFrom, type TransitionDefinition } from 'xstate';
import { getShortestPaths, getStateNodes } from 'xstate/graph';
import { isLastTab, tabsMachine, type TabsEmitted } from '../../src/machines/tabs';

// Model-based paths per CONVENTIONS (recipe): the whole alphabet, internal event types included;
// an edge-aware key so shortest paths cover every transition; `can` filtering; `done` stops.
// This tab is 'a', its one peer 'b' (a second peer adds states, not transitions).

type Event = EventFromLogic<typeof tabsMachine>;
type Snapshot = SnapshotFrom<typeof tabsMachine>;

const input = { tabId: 'a', visible: true };
const busy = { status: 'busy', metadata: { note: 'on a call' } };
const verifyEvery = tabsMachine.implementations.delays.verifyEvery as number;

const events = [
  { type: 'lock.acquired' },
  { type: 'lock.queued' },
  { type: 'tab.visibility', visible: false },
  { type: 'tab.visibility', visible: true },
  { type: 'peer.hello', tabId: 'b', visible: true, at: 1 },
  { type: 'peer.hello', tabId: 'a', visible: false, at: 1 }, // own echo: the guard refuses it
  { type: 'peer.state', tabId: 'b', visible: false, at: 1 },
  { type: 'peer.bye', tabId: 'b' },
  { type: 'peer.rollcall', tabId: 'b' },
  { type: 'peer.wish', wish: { wish: 'cleared', at: 6, tabId: 'b' } },
  { type: 'peer.wish', wish: { wish: busy, at: 3, tabId: 'b' } }, // older than the local wish below
  { type: 'wish.local', wish: busy, at: 5 },
  { type: 'members.verified', tabIds: [], askedAt: 2 }, // b was last heard at 1: gone
  { type: 'members.verified', tabIds: ['b'], askedAt: 2 }, // b holds its lock: nothing to drop
  { type: 'signout.local' },
  { type: 'quiet.local' },
  { type: 'peer.signout', tabId: 'b' },
  { type: 'peer.signout', tabId: 'a' }, // own echo: the guard refuses it
  { type: 'peer.quiet', tabId: 'b' },
  { type: 'tabs.leave' },
  { type: 'xstate.after.verifyEvery.tabs.leader' },
  { type: 'xstate.after.verifyEvery.tabs.follower' },
] as Event[];

// A local wish is stamped above the one it replaces, so its `at` climbs without bound: the model
// leaves it out, and the replay checks the stamping rule as an invariant instead.
const model = (context: Snapshot['context']) => ({ ...context, wish: context.wish && { ...context.wish, at: 0 } });
const key = (s: Snapshot) => JSON.stringify({ value: s.value, context: model(s.context) });

const allPaths = getShortestPaths(tabsMachine, {
  input,
  events,
  // The edge names its source by state, known peers and a sign-out in progress: one event type may
  // take different branches (members.verified drops a peer, or only notes the members, or ends a
  // sign-out) into the same target.
  serializeState: (s, e, prev) =>
    key(s) + (e && prev ? ` | ${JSON.stringify(prev.value)}+${Object.keys(prev.context.peers)}${prev.context.signout ? '+signout' : ''} -${e.type}->` : ''),
  filterEvents: (s, e) => s.can(e),
  stopWhen: (s) => s.status === 'done',
});

// A path that is a prefix of a longer one replays nothing the longer one does not.
const signature = (p: (typeof allPaths)[number]) => p.steps.map((s) => JSON.stringify(s.event)).join('\n') + '\n';
const signatures = allPaths.map(signature);
const paths = allPaths.filter((p, i) => {
  const own = signatures[i]!;
  return !signatures.some((other, j) => j !== i && other.length > own.length && other.startsWith(own));
});

/** Every transition the machine declares, by object identity (root handlers included). */
const declared = [tabsMachine.root, ...getStateNodes(tabsMachine.root)].flatMap((node) =>
  [...node.transitions.values()].flat(),
);
/** Eventless transitions (the announcements after a change): taken as microsteps, seen by inspection in the replays. */
const eventless = [tabsMachine.root, ...getStateNodes(tabsMachine.root)].flatMap((node) => node.always ?? []);
const eventlessTaken = new Set<TransitionDefinition<any, any>>();
const nameOf = (t: TransitionDefinition<any, any>) =>
  `${t.source.id} -${t.eventType}${t.guard ? ` [${String(typeof t.guard === "string" ? t.guard : "guard")}]` : ""}-> ${t.target?.map((n) => n.id).join(',') ?? '(self)'}`;

/** Invariants that hold after every step, whatever the path. */
function checkStep(snapshot: Snapshot, out: TabsEmitted[], anyVisibleBefore: boolean) {
  const { context } = snapshot;
  const peersKnown = Object.keys(context.peers).length > 0;
  const roles = out.filter((e) => e.type === 'role');

  if (snapshot.status === 'done') {
    expect(snapshot.value).toBe('left');
  } else {
    // Exactly one of leader/follower once the lock has answered; neither while electing.
    const leader = snapshot.matches('leader');
    const follower = snapshot.matches('follower');
    expect(Number(leader) + Number(follower)).toBe(snapshot.matches('electing') ? 0 : 1);
    expect(context.told?.leader ?? null).toBe(snapshot.matches('electing') ? null : leader);
    // A follower (or a tab still electing) never asks to write.
    if (!leader) expect(roles.filter((e) => e.leader)).toEqual([]);
    if (leader) expect(roles.every((e) => e.leader)).toBe(true);
    // What was announced is what is true.
    if (context.told) expect(context.told.othersPresent).toBe(peersKnown);
    if (roles.length) expect(roles.at(-1)).toEqual({ type: 'role', ...context.told });
    // A follower is never the last tab: someone else holds the lock.
    if (isLastTab(snapshot)) expect(leader && !peersKnown).toBe(true);
  }
  // The person's visibility: any tab visible; announced exactly when it changed.
  const anyVisible = context.visible || Object.values(context.peers).some((p) => p.visible);
  expect(context.anyVisible).toBe(anyVisible);
  expect(out.filter((e) => e.type === 'visibility')).toEqual(
    anyVisible === anyVisibleBefore ? [] : [{ type: 'visibility', anyVisible }],
  );
  // Everything said on the channel is signed by this tab; a lock check only when there is a peer.
  for (const e of out) if (e.type === 'broadcast') expect(e.message.from).toBe('a');
  // (a sign-out checks the locks even with no peer known: a tab that has just joined may not have met them)
  if (out.some((e) => e.type === 'verify')) expect(peersKnown || context.signout !== null).toBe(true);
  // A sign-out is reported quiet once: after the locks were checked, when nobody asked is left to answer.
  if (out.some((e) => e.type === 'quiet')) expect(context.signout).toBeNull();
  if (context.signout && !context.signout.verified) expect(out.filter((e) => e.type === 'quiet')).toEqual([]);
  for (const id of context.signout?.answered ?? []) expect(context.signout?.awaiting).not.toContain(id);
}

describe(`tabs machine paths (${paths.length} prefix-free of ${allPaths.length} shortest)`, () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('visits every declared state', () => {
    const leaves = getStateNodes(tabsMachine.root).filter((n) => n.type === 'atomic' || n.type === 'final');
    expect(leaves.map((n) => n.key).sort()).toEqual(['electing', 'follower', 'leader', 'left']);
    const unreached = leaves.filter((n) => !paths.some((p) => p.steps.some((s) => s.state.matches(n.key as never))));
    expect(unreached.map((n) => n.id)).toEqual([]);
  });

  it('takes every declared transition', () => {
    const taken = new Set<TransitionDefinition<any, any>>();
    for (const path of paths) {
      path.steps.forEach((step, i) => {
        const previous = path.steps[i - 1];
        if (previous) for (const t of tabsMachine.getTransitionData(previous.state, step.event)) taken.add(t);
      });
    }
    expect(declared.length).toBe(24);
    expect(declared.filter((t) => !taken.has(t)).map(nameOf)).toEqual([]);
  });

  it.each(paths.map((p) => [p.steps.map((s) => s.event.type).join(' → '), p] as const))('%s', (_, path) => {
    const actor = createActor(tabsMachine, {
      input,
      inspect: (e) => {
        if (e.type === '@xstate.microstep') for (const t of e._transitions) if (eventless.includes(t)) eventlessTaken.add(t);
      },
    });
    const emitted: TabsEmitted[] = [];
    actor.on('*', (e) => emitted.push(e));
    actor.start();
    expect(emitted).toEqual([{ type: 'broadcast', message: { type: 'hello', from: 'a', visible: true } }]);

    for (const { event, state } of path.steps) {
      const type: string = event.type; // widened: includes xstate.init and xstate.after.*
      const before = emitted.length;
      const { anyVisible: anyVisibleBefore, wish: wishBefore } = actor.getSnapshot().context;
      if (type.startsWith('xstate.after.')) {
        vi.advanceTimersByTime(verifyEvery - 1);
        expect(emitted.length).toBe(before); // not early
        vi.advanceTimersByTime(1);
      } else if (type !== 'xstate.init') {
        actor.send(event);
      }
      const snapshot = actor.getSnapshot();
      expect(snapshot.value).toEqual(state.value);
      expect(model(snapshot.context)).toEqual(model(state.context));
      checkStep(snapshot, emitted.slice(before), anyVisibleBefore);
      if (event.type === 'wish.local') {
        // Last writer wins: stamped now, and never at or below the wish it replaces.
        const { at } = snapshot.context.wish!;
        expect(at).toBe(wishBefore && event.at <= wishBefore.at ? wishBefore.at + 1 : event.at);
        expect(emitted.slice(before)).toEqual([
          { type: 'broadcast', message: { type: 'wish', from: 'a', wish: { wish: event.wish, at, tabId: 'a' } } },
        ]);
      } else if (event.type === 'peer.wish') {
        expect(snapshot.context.wish).toEqual(event.wish);
        expect(emitted.slice(before)).toEqual([{ type: 'wish', wish: event.wish.wish }]);
      } else {
        expect(snapshot.context.wish).toEqual(wishBefore);
      }
    }

    if (actor.getSnapshot().status === 'done') {
      // left ⇒ the last word was bye, no timer is pending, and nothing moves it any more.
      expect(emitted.at(-1)).toEqual({ type: 'broadcast', message: { type: 'bye', from: 'a' } });
      expect(vi.getTimerCount()).toBe(0);
      const settled = emitted.length;
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => {}); // "sent to stopped actor"
      for (const e of events) if (!e.type.startsWith('xstate.')) actor.send(e);
      expect(warn).toHaveBeenCalled();
      warn.mockRestore();
      vi.advanceTimersByTime(verifyEvery * 3);
      expect(emitted.length).toBe(settled);
    }
    actor.stop();
  });

  // Runs after the replays above (tests in a file run in order).
  it('takes every eventless transition in the replays', () => {
    expect(eventless.length).toBe(3);
    expect(eventless.filter((t) => !eventlessTaken.has(t)).map(nameOf)).toEqual([]);
  });
});
