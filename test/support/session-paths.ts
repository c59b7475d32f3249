/**
 * The session machine's model-based paths, shared by the replay on fake actors
 * (test/machines/session.paths.test.ts) and the replay on the emulator
 * (test/integration/session.emulator-paths.test.ts). Moved unchanged from session.paths.test.ts.
 */
import type { EventFromLogic } from 'xstate';
import { getShortestPaths, joinPaths } from 'xstate/graph';
import { ServerClock } from '../../src/machines/clock';
import { Roster } from '../../src/machines/roster';
import { sessionMachine, type SessionSnapshot } from '../../src/machines/session';
import type { LoadRosterOutput, PublishOutput } from '../../src/transport/types';
import {
  afterEvents,
  byTransition,
  canOccur,
  coveringPaths,
  expandOnce,
  pathOf,
  withTimers,
  type InitEvent,
  type MachineSnapshotOf,
  type TimedPath,
} from './paths';
import { ada, bob, doc } from '../machines/session.fixtures';

export type Event = EventFromLogic<typeof sessionMachine>;
export type Path = TimedPath<MachineSnapshotOf<typeof sessionMachine>, Event | InitEvent>;

export const ownRow = doc({ userId: 'u1', id: 'row-u1', updatedAt: 2_000, metadata: { name: 'Ada' } });
export const peer = doc({ userId: 'p1' });
export const listed: LoadRosterOutput = { peers: [peer], receivedAtLocal: 0 };
export const publishedOwn: PublishOutput = { doc: ownRow, sentAtLocal: 0, receivedAtLocal: 0 };
export const identified = { type: 'xstate.done.actor.identify', output: ada, actorId: 'identify' } as const;
export const rosterListed = { type: 'xstate.done.actor.loadRoster', output: listed, actorId: 'loadRoster' } as const;
export const written = { type: 'xstate.done.actor.write', output: publishedOwn, actorId: 'write' } as const;
/** The tab is alone and leads (what the coordinator says first when no other tab is open). */
export const leads = { type: 'tabs.role', leader: true, othersPresent: false } as const;
/** Appwrite's answer once the session is gone: the caller is a guest, without the presences scopes. */
export const sessionGone = Object.assign(new Error('User (role: guests) missing scopes (["presences.write"])'), { code: 401, type: 'general_unauthorized_scope' });

// The whole alphabet. Guarded events get passing and failing samples; xstate.* types stand for the
// transport settling (with the outputs the actions read) and for timers firing.
export const events: Event[] = [
  { type: 'session.start' },
  { type: 'session.start', options: { heartbeatMs: 10 } },
  { type: 'session.start', options: { teamId: 't1' } },
  { type: 'session.start', options: { auto: false, status: 'busy' } },
  { type: 'session.start', options: { auto: true } },
  { type: 'session.start', options: { idleMs: 0 } },
  { type: 'session.set', status: 'busy' },
  { type: 'session.set', status: '' },
  { type: 'session.clear' },
  { type: 'session.stop' },
  { type: 'session.signOut' },
  { type: 'page.hidden' },
  { type: 'page.visible' },
  { type: 'page.hide', persisted: false },
  { type: 'page.hide', persisted: true },
  { type: 'page.freeze' },
  { type: 'page.resume' },
  { type: 'page.input' },
  { type: 'tabs.signout' },
  { type: 'tabs.quiet' },
  { type: 'session.error', message: 'bad input' },
  { type: 'tab.hidden' },
  { type: 'tab.visible' },
  { type: 'tabs.role', leader: false, othersPresent: true },
  { type: 'tabs.role', leader: true, othersPresent: false },
  { type: 'identity.changed', identity: { userId: 'u1', name: 'Ada L.' } },
  { type: 'identity.changed', identity: bob },
  { type: 'identity.changed', identity: null },
  { type: 'team.changed', teamId: 't1' },
  { type: 'peer.upserted', peer, serverTime: null },
  { type: 'peer.deleted', peer, serverTime: null },
  { type: 'peer.upserted', peer: ownRow, serverTime: null },
  { type: 'peer.deleted', peer: ownRow, serverTime: null },
  { type: 'transport.connected' },
  { type: 'transport.disconnected' },
  { type: 'transport.warning', reason: 'unusable frame' },
  identified,
  { type: 'xstate.done.actor.identify', output: null, actorId: 'identify' },
  { type: 'xstate.error.actor.identify', error: new Error('offline'), actorId: 'identify' },
  rosterListed,
  { type: 'xstate.error.actor.loadRoster', error: new Error('list failed'), actorId: 'loadRoster' },
  written,
  { type: 'xstate.error.actor.write', error: new Error('write failed'), actorId: 'write' },
  { type: 'xstate.error.actor.write', error: sessionGone, actorId: 'write' },
  { type: 'xstate.error.actor.loadRoster', error: sessionGone, actorId: 'loadRoster' },
  { type: 'xstate.done.actor.removeRow', output: undefined, actorId: 'removeRow' },
  { type: 'xstate.error.actor.removeRow', error: new Error('remove failed'), actorId: 'removeRow' },
  { type: 'xstate.error.actor.removeRow', error: Object.assign(new Error('Server Error'), { code: 500 }), actorId: 'removeRow' },
  ...(afterEvents(sessionMachine) as Event[]),
];

/** What decides the machine's future: the traversal key (never the Roster/ServerClock instances). */
export function project(s: SessionSnapshot) {
  const c = s.context;
  return {
    value: s.value,
    identity: c.identity?.userId ?? null,
    desired: c.desired?.status ?? null,
    confirmed: c.confirmed?.status ?? null,
    hidden: c.hidden,
    idleMs: c.idleMs,
    auto: c.auto,
    leader: c.leader,
    othersPresent: c.othersPresent,
    due: c.due,
    inflight: c.inflight && `${c.inflight.kind}${c.inflight.seq === c.seq ? '' : '+newer'}`,
    hasRow: c.hasRow,
    failures: c.failures,
    rowVersion: c.rowVersion,
    loaded: c.loaded,
    linkUp: c.linkUp,
    pageHidden: c.pageHidden,
    tabsOf: c.tabsOf,
    unshared: c.unshared,
    leaving: c.leaving,
    resumable: c.resumable,
    wanted: c.wanted,
    restart: c.restart,
    teamId: c.teamId,
    heartbeatMs: c.heartbeatMs,
    children: Object.keys(s.children).sort(),
  };
}

/** What the replay compares besides the key: everything a binding can read. */
export function observable(s: SessionSnapshot) {
  const c = s.context;
  const { identity, desired, error, warning, presenceId, seq, confirmedSeq, failedSeq } = c;
  return { ...project(s), identity, desired, error, warning, presenceId, seq, confirmedSeq, failedSeq };
}

export const input = { roster: new Roster({ clock: new ServerClock() }), clock: new ServerClock(), random: () => 0.5, newId: () => 'row-1' };
export const logic = withTimers(sessionMachine);
export const key = byTransition(project);
export const plainKey = (s: Parameters<typeof key>[0]) => key(s);

export const fromStart: Path[] = getShortestPaths(logic, {
  events,
  input,
  serializeState: key,
  filterEvents: canOccur,
  stopWhen: expandOnce(plainKey, 5),
});
// Deep corners (a resync's outcomes, a failed removal while away) start from a live session.
export const initial = fromStart[0]!.steps[0]!.state;
export const warm = pathOf(logic, initial, [{ type: 'session.start' }, identified, leads, { type: 'transport.connected' }, rosterListed, written]);
export const fromLive: Path[] = getShortestPaths(logic, {
  events,
  fromState: warm.state,
  serializeState: key,
  filterEvents: canOccur,
  stopWhen: expandOnce(plainKey, warm.state.depth + 4),
}).map((path) => joinPaths(warm, path));

// The hidden cadence's own timer fires only once it is the next due: the page and the person
// hidden, the away write in flight (no write gap pending) and the roster re-listing (no poll timer).
// Deeper than the search goes, so that path is spelled out.
const afterNamed = (delay: string) => afterEvents(sessionMachine).find((e) => e.type.startsWith(`xstate.after.${delay}.`)) as Event;
export const hiddenBeat: Path = joinPaths(
  warm,
  pathOf(logic, warm.state, [{ type: 'page.hidden' }, { type: 'tab.hidden' }, afterNamed('writeGap'), { type: 'transport.connected' }, afterNamed('hiddenHeartbeatEvery')]),
);

export const paths = coveringPaths([...fromStart, ...fromLive, hiddenBeat]);
export const name = (path: Path) => path.steps.slice(1).map((s) => s.event.type.replace(/^xstate\.(after|done\.actor|error\.actor)\.([^.]+).*$/, '$2 $1')).join(' → ');
