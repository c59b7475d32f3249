import type { EventFromLogic } from 'xstate';
import { afterEvents } from '../support/paths';
import { sessionMachine, type SessionSnapshot } from '../../src/machines/session';
import type { LoadRosterOutput, PublishOutput } from '../../src/transport/types';
import { ada, bob, doc } from './session.fixtures';
type Event = EventFromLogic<typeof sessionMachine>;
const ownRow = doc({ userId: 'u1', id: 'row-u1', updatedAt: 2_000, metadata: { name: 'Ada', color: 'x' } });
const peer = doc({ userId: 'p1' });
const listed: LoadRosterOutput = { peers: [peer], receivedAtLocal: 0 };
const publishedOwn: PublishOutput = { doc: ownRow, sentAtLocal: 0, receivedAtLocal: 0 };

// The whole alphabet. Guarded events get passing and failing samples; xstate.* types stand for
// the transport settling (with the outputs the actions read) and for timers firing.
export const events: Event[] = [
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
export function project(s: SessionSnapshot) {
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
export function observable(s: SessionSnapshot) {
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

