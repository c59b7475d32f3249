import { it } from 'vitest';
import { getAdjacencyMap } from 'xstate/graph';
import { ServerClock } from '../../src/machines/clock';
import { Roster } from '../../src/machines/roster';
import { sessionMachine, type SessionSnapshot } from '../../src/machines/session';
import { byTransition, canOccur, withTimers } from '../support/paths';
import { events, project } from './session.alphabet';

it('measures', () => {
  const logic = withTimers(sessionMachine);
  for (const limit of [2000, 10000, 40000]) {
    try {
      const t = performance.now();
      const adj = getAdjacencyMap(logic, {
        events, limit,
        input: { roster: new Roster({ clock: new ServerClock() }), clock: new ServerClock(), random: () => 0.5, newId: () => 'row-1' },
        serializeState: byTransition(project), filterEvents: canOccur,
      });
      console.log(limit, 'nodes', Object.keys(adj).length, (performance.now()-t).toFixed(0), 'ms');
    } catch (e) {
      console.log(limit, String(e));
    }
  }
  // dimension analysis on a limited run
  const adj = getAdjacencyMap(logic, { events, limit: 1e9, stopWhen: undefined,
        input: { roster: new Roster({ clock: new ServerClock() }), clock: new ServerClock(), random: () => 0.5, newId: () => 'row-1' },
        serializeState: (s: any) => JSON.stringify([project(s.machine), s.timers.map((t: any) => t.type.split('.')[2] + '@' + (t.due - s.now))]), filterEvents: canOccur } as any);
  const keys = Object.keys(adj);
  console.log('plain nodes', keys.length);
  const dims: Record<string, Set<string>> = {};
  for (const k of keys) { const [p, timers] = JSON.parse(k); for (const [f, v] of Object.entries({...p, timers})) (dims[f] ??= new Set()).add(JSON.stringify(v)); }
  for (const [f, v] of Object.entries(dims)) console.log(f, v.size, v.size < 12 ? [...v].join(' ') : '');
}, 600000);
