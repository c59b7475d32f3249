/**
 * Model-based paths through the session machine (CONVENTIONS recipe, plus `withTimers` so that
 * several pending timers replay exactly). Two bounded traversals with an edge-aware key — from the
 * initial state, and from a warmed-up live session — give one shortest path per (state, incoming
 * edge); the fewest of them that still take every transition are replayed against the real machine
 * on a fake transport with fake timers. After every step the real snapshot must match the model and
 * each state's invariants must hold (cleared ⇒ not in the roster; stopped ⇒ no timer, no
 * subscription, no write; online/away ⇒ `me` and our roster row agree; the direct feed open ⇔ the
 * roster live). The fake watcher honours the feed as the Appwrite one does, so a path's peer
 * events about others in `live` reach the roster through it, and the model's step must agree.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { StateNode } from 'xstate';
import { getStateNodes } from 'xstate/graph';
import { AWAY, selectMe, selectReady, sessionMachine, type SessionCommand } from '../../src/machines/session';
import type { TransportEvent } from '../../src/transport/types';
import { definedTransitions, flush, handledEventTypes, isAfter, pathOf } from '../support/paths';
import type { InitEvent } from '../support/paths';
import { events, initial, logic, name, observable, paths, plainKey, type Event } from '../support/session-paths';
import { harness } from './session.fixtures';


describe('session machine paths: the model', () => {
  it('the alphabet names every event type the machine handles', () => {
    const alphabet = new Set<string>(events.map((e) => e.type));
    expect(handledEventTypes(sessionMachine).filter((type) => !alphabet.has(type))).toEqual([]);
  });

  it('the replayed paths visit every atomic state', () => {
    // Transient states (only an unguarded `always` out, like `status.choosing`) are passed through, never rested in.
    const transient = (n: StateNode) => n.transitions.size === 0 && (n.always ?? []).some((t) => !t.guard);
    const leaves = getStateNodes(sessionMachine.root).filter((n) => (n.type === 'atomic' || n.type === 'final') && !transient(n));
    const reached = (n: (typeof leaves)[number]) => paths.some((p) => p.steps.some((s) => s.state.machine.matches(n.path.join('.') as never)));
    expect(leaves.length).toBeGreaterThan(15);
    expect(leaves.filter((n) => !reached(n)).map((n) => n.id)).toEqual([]);
  });

  it('the replayed paths take every transition of the definition', () => {
    const defined = definedTransitions(sessionMachine);
    const covered = new Set(paths.flatMap((p) => p.steps.flatMap((s) => s.state.taken)));
    expect(defined.filter((t) => !covered.has(t))).toEqual([]);
    expect([...covered].filter((t) => !defined.includes(t))).toEqual([]);
    expect(covered.size).toBe(defined.length);
  });
});

describe('session machine paths: replayed on the real machine', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it.each(paths.map((p) => [name(p), p] as const))('%s', async (_, path) => {
    // A path's states are the traversal's representatives: equal to the truth in the key only.
    // Re-running its events through the model gives the exact expected snapshot at every step.
    const exact = pathOf(logic, initial, path.steps.map((s) => s.event).filter(isMachineEvent)).steps;
    // The coordinator says nothing by itself: the path's own `tabs.*` steps are what it says.
    const h = harness({ random: () => 0.5, newId: () => 'row-1', role: null });
    for (const [i, { event, state }] of exact.entries()) {
      const prev = exact[Math.max(0, i - 1)]!.state;
      const type: string = event.type; // widened: includes xstate.init / after / done / error
      const settled = /^xstate\.(done|error)\.actor\.(.+)$/.exec(type);
      if (type === 'xstate.init') {
        // the actor is already started
      } else if (isAfter(type)) {
        const timer = prev.timers.find((t) => t.type === type)!;
        vi.advanceTimersByTime(timer.due - prev.now - 1);
        expect(h.snapshot().value, `${type} fired early`).toEqual(prev.machine.value);
        vi.advanceTimersByTime(1);
      } else if (settled) {
        if (settled[1] === 'done') h.transport.resolve(settled[2]!, 'output' in event ? event.output : undefined);
        else h.transport.reject(settled[2]!, 'error' in event ? event.error : undefined);
        await flush();
      } else if (isTransportEvent(event)) {
        h.transport.emit(event);
      } else if (isCommand(event)) {
        h.send(event);
      }
      expect(plainKey(state), 'the key decides the future (projection is a congruence)').toBe(plainKey(path.steps[i]!.state));
      expect(observable(h.snapshot()), `after ${type}`).toEqual(observable(state.machine));
      expect(vi.getTimerCount(), `timers after ${type}`).toBe(state.timers.length);
      holdsInvariants(h);
    }
    h.actor.stop();
  });
});

function isMachineEvent(event: Event | InitEvent): event is Event {
  return event.type !== 'xstate.init';
}

function isTransportEvent(event: Event | InitEvent): event is Extract<Event, TransportEvent> {
  return event.type.startsWith('peer.') || event.type.startsWith('transport.');
}

function isCommand(event: Event | InitEvent): event is Extract<Event, SessionCommand> {
  return ['session.', 'tab', 'page.'].some((prefix) => event.type.startsWith(prefix)) || event.type.endsWith('.changed');
}

function holdsInvariants(h: ReturnType<typeof harness>) {
  const s = h.snapshot();
  const self = s.context.identity?.userId ?? '';
  const tracking = s.matches('tracking');
  expect(h.transport.watchers, 'one realtime subscription exactly while tracking').toBe(tracking ? 1 : 0);
  expect(h.transport.writesInFlight(), 'one write in flight at most').toBeLessThanOrEqual(1);
  expect(h.transport.feedOpen, 'the direct feed is open exactly while the roster is live').toBe(s.matches({ tracking: { roster: { watching: 'live' } } }));
  if (s.matches({ tracking: { status: 'cleared' } })) {
    expect(selectMe(s)).toBeNull();
    expect(h.roster.get(self)).toBeNull();
  }
  if (s.matches({ tracking: { status: 'online' } })) {
    expect(selectMe(s)).toBe(s.context.desired?.status);
    expect(h.roster.get(self)?.status).toBe(s.context.desired?.status);
  }
  if (s.matches({ tracking: { status: 'away' } })) {
    expect(selectMe(s)).toBe(AWAY);
    expect(h.roster.get(self)?.status).toBe(AWAY);
  }
  if (selectReady(s)) expect(h.transport.callsOf('loadRoster').some((c) => c.settled)).toBe(true);
  if ((['stopped', 'idle', 'left', 'frozen'] as const).some((state) => s.matches(state))) {
    expect(vi.getTimerCount(), 'no timer left').toBe(0);
    expect(h.transport.writesInFlight(), 'no write left in flight').toBe(0);
    // The page is watched for the actor's whole life; a keepalive delete may still be going out.
    expect(Object.keys(s.children).filter((id) => id !== 'page' && id !== 'farewell'), 'no actor left').toEqual([]);
    expect(h.roster.size, 'roster emptied').toBe(0);
    expect(selectMe(s)).toBeNull();
    expect(selectReady(s)).toBe(false);
  }
}
