/**
 * Model-based paths through the session machine (CONVENTIONS recipe + `withTimers`): one shortest
 * path per transition, each replayed against the real machine on a fake transport with fake timers,
 * checking after every step that the real snapshot matches the model and that each state's
 * invariants hold (cleared ⇒ not in the roster; stopped ⇒ no timers, no subscription, no write; …).
 */
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { EventFromLogic } from 'xstate';
import { getShortestPaths, getStateNodes } from 'xstate/graph';
import { ServerClock } from '../../src/machines/clock';
import { Roster } from '../../src/machines/roster';
import { effectiveStatus, selectMe, selectReady, sessionMachine, type SessionSnapshot } from '../../src/machines/session';
import type { LoadRosterOutput, PublishOutput } from '../../src/transport/types';
import {
  afterEvents,
  byTransition,
  canOccur,
  definedTransitions,
  flush,
  handledEventTypes,
  isAfter,
  withTimers,
  type TimedSnapshot,
} from '../support/paths';
import { ada, bob, doc, harness } from './session.fixtures';

type Event = EventFromLogic<typeof sessionMachine>;

const ownRow = doc({ userId: 'u1', id: 'row-u1', updatedAt: 2_000, metadata: { name: 'Ada', color: 'x' } });
const peer = doc({ userId: 'p1' });
const listed: LoadRosterOutput = { peers: [peer], receivedAtLocal: 0 };
const publishedOwn: PublishOutput = { doc: ownRow, sentAtLocal: 0, receivedAtLocal: 0 };

// The whole alphabet. Guarded events get passing and failing samples; xstate.* types stand for
// the transport settling (with the outputs the actions read) and for timers firing.
const events: Event[] = [
  { type: 'session.start' },
  { type: 'session.start', options: { heartbeatMs: 10 } },
  { type: 'session.start', options: { teamId: 't1' } },
  { type: 'session.start', options: { auto: false, status: 'busy' } },
  { type: 'session.set', status: 'busy' },
  { type: 'session.set', status: '' },
  { type: 'session.clear' },
  { type: 'session.stop' },
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
  { type: 'xstate.done.actor.identify', output: ada, actorId: 'identify' },
  { type: 'xstate.done.actor.identify', output: null, actorId: 'identify' },
  { type: 'xstate.error.actor.identify', error: new Error('offline'), actorId: 'identify' },
  { type: 'xstate.done.actor.loadRoster', output: listed, actorId: 'loadRoster' },
  { type: 'xstate.error.actor.loadRoster', error: new Error('list failed'), actorId: 'loadRoster' },
  { type: 'xstate.done.actor.write', output: publishedOwn, actorId: 'write' },
  { type: 'xstate.error.actor.write', error: new Error('write failed'), actorId: 'write' },
  { type: 'xstate.done.actor.removeRow', output: undefined, actorId: 'removeRow' },
  { type: 'xstate.error.actor.removeRow', error: new Error('remove failed'), actorId: 'removeRow' },
  ...(afterEvents(sessionMachine) as Event[]),
];

/** What decides the machine's future: the key of the traversal (never the Roster/ServerClock). */
function project(s: SessionSnapshot) {
  const c = s.context;
  return {
    value: s.value,
    identity: c.identity?.userId ?? null,
    desired: c.desired?.status ?? null,
    confirmed: c.confirmed?.status ?? null,
    hidden: c.hidden,
    auto: c.auto,
    leader: c.leader,
    othersPresent: c.othersPresent,
    due: c.due,
    inflight: c.inflight && `${c.inflight.kind}${c.inflight.seq === c.seq ? '' : '+newer'}`,
    hasRow: c.hasRow,
    rowVersion: c.rowVersion,
    loaded: c.loaded,
    wanted: c.wanted,
    restart: c.restart,
    teamId: c.teamId,
    heartbeatMs: c.heartbeatMs,
    children: Object.keys(s.children).sort(),
  };
}

/** What the replay compares besides the key: everything a binding can read. */
function observable(s: SessionSnapshot) {
  const c = s.context;
  return {
    ...project(s),
    desired: c.desired,
    error: c.error,
    warning: c.warning,
    presenceId: c.presenceId,
    seq: c.seq,
    confirmedSeq: c.confirmedSeq,
    failedSeq: c.failedSeq,
  };
}

const logic = withTimers(sessionMachine);
const started = performance.now();
const paths = getShortestPaths(logic, {
  events,
  input: { roster: new Roster({ clock: new ServerClock() }), clock: new ServerClock(), random: () => 0.5, newId: () => 'row-1' },
  serializeState: byTransition(project),
  filterEvents: canOccur,
});
const traversalMs = performance.now() - started;

console.log(`paths: ${paths.length}, traversal ${traversalMs.toFixed(0)} ms`);

describe('session machine paths', () => {
  it('the alphabet names every event type the machine handles', () => {
    const alphabet = new Set(events.map((e) => e.type));
    expect(handledEventTypes(sessionMachine).filter((type) => !alphabet.has(type))).toEqual([]);
  });

  it('visits every atomic state', () => {
    const leaves = getStateNodes(sessionMachine.root).filter((n) => n.type === 'atomic' || n.type === 'final');
    const unreached = leaves.filter((n) => !paths.some((p) => p.steps.some((s) => s.state.machine.matches(n.path.join('.') as never))));
    expect(unreached.map((n) => n.id)).toEqual([]);
  });

  it('takes every transition of the definition', () => {
    const defined = definedTransitions(sessionMachine);
    const covered = new Set(paths.flatMap((p) => p.steps.flatMap((s) => s.state.taken)));
    expect(defined.filter((t) => !covered.has(t))).toEqual([]);
    expect(covered.size).toBe(defined.length);
  });
});
