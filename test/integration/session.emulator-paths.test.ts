/**
 * The session machine's model-based paths (test/support/session-paths.ts), replayed a second time
 * for real: createPresence on the real Appwrite transport and SDK against the emulator, while an
 * observer (another guest of the same project) watches.
 *
 * Replay: a path's COMMAND steps are performed for real on the person's controller (start, set,
 * clear, stop, visibility, identity, team, a socket drop for a reconnect); its internal steps
 * (identify/list/write/remove settling, the write gap, the first `connected`) are left to the real
 * world. After each command and the internal steps that follow it (a checkpoint), the model state
 * is completed the way the real world completes it (every effect succeeds, the first connect comes
 * first) and the real machine must come to rest in the same phase with the same `me`; then within
 * 1 s the observer sees it: online/away ⇒ the person's row with that status; cleared/stopped/idle
 * ⇒ no row of the person (either identity).
 *
 * Which paths can happen for real (`whyNotReal`, a rule, not a list): every step is a command the
 * facade offers (`beforeSignOut()` included), a page event (input included) or another tab's sign-out (sent to the
 * actor exactly as the `watchPage` / `coordinateTabs` actors send them), a `transport.connected`
 * (the first connect, or a socket drop from a live roster), what the one tab's coordinator says by
 * itself (it leads; it answers a sign-out at once), or an effect SUCCEEDING / the write gap
 * elapsing; and every command is sent from a model state at rest (not starting/switching/stopping,
 * roster live, no effect in flight), because the real world cannot be held mid-effect for a command
 * to land there. Skipped: effect failures and `identify` answering no session (fault injection),
 * `tabs.role` as a follower (one tab), peer events and transport warnings (scripted third parties /
 * malformed frames), the connect timeout, poll, quiet and heartbeat timers (≥ 1 s … ≥ 60 s of
 * waiting), `start({ teamId })` (the facade's start takes no team).
 * An identity change to another user is made the documented way: `beforeSignOut()` while the old
 * session works, then the client signs in as the new user, then presence hears the new identity.
 */
import * as Appwrite from 'appwrite';
import { afterEach, describe, expect, it } from 'vitest';
import { ID } from 'appwrite';
import { guest, keyClient, type SdkUser } from '../support/sdk';
import { useEmulator } from '../support/emulator';
import { createPresence, type PresenceController } from '../../src/presence';
import { selectMe, selectPhase, type SessionSnapshot } from '../../src/machines/session';
import { createAppwriteTransport } from '../../src/transport/appwrite';
import { canOccur, type TimedSnapshot } from '../support/paths';
import { untilChange } from '../support/wait';
import type { EventObject } from 'xstate';
import { getShortestPaths, joinPaths } from 'xstate/graph';
import { coveringPaths, expandOnce } from '../support/paths';
import { events, identified, input, key, leads, logic, name, paths, plainKey, rosterListed, warm, written, type Event, type Path } from '../support/session-paths';

const KEY = 'integration-key';
const emulator = useEmulator({ apiKey: KEY });
let project = 0;
const running: PresenceController[] = [];

afterEach(async () => {
  for (const controller of running.splice(0)) controller.dispose();
});

const newProject = () => `spath-${++project}`;

type Model = TimedSnapshot<SessionSnapshot>;
type Step = Path['steps'][number];

// ---- which steps are driven, which the real world settles, which cannot happen here ----------

const STABLE = new Set(['idle', 'online', 'away', 'cleared', 'stopped', 'left', 'frozen']);
/** Children that live beside a state at rest: the page watcher, the tab coordinator, a keepalive delete going out. */
const QUIET_CHILDREN = new Set(['page', 'tabs', 'farewell']);
const busyChildren = (children: Record<string, unknown>) => Object.keys(children).filter((id) => !QUIET_CHILDREN.has(id));

/** The model at rest: what the real world also reaches and stays in (until a heartbeat). */
function atRest(s: Model): boolean {
  const m = s.machine;
  if (!STABLE.has(selectPhase(m))) return false;
  if (!m.matches('tracking')) return busyChildren(m.children).length === 0;
  return m.matches({ tracking: { roster: { watching: 'live' } } }) && m.context.leader && busyChildren(m.children).every((id) => id === 'watchPeers');
}

type Kind = 'driven' | 'internal' | { skip: string };

function kindOf(step: Pick<Step, 'event'>, prev: Model): Kind {
  const e = step.event as Event | { type: 'xstate.init' };
  if (e.type.startsWith('xstate.after.writeGap')) return 'internal';
  switch (e.type) {
    case 'xstate.init':
      return 'internal';
    case 'session.start':
      return e.options?.teamId !== undefined ? { skip: 'start({ teamId })' } : 'driven';
    case 'session.set':
    case 'session.clear':
    case 'session.stop':
    case 'session.signOut':
    case 'session.error':
    case 'tab.hidden':
    case 'tab.visible':
    case 'page.input':
    case 'page.hidden':
    case 'page.visible':
    case 'page.hide':
    case 'page.freeze':
    case 'page.resume':
    case 'tabs.signout':
    case 'identity.changed':
    case 'team.changed':
      return 'driven';
    case 'tabs.role':
      // One tab: its coordinator says at once that it leads, alone.
      return e.leader && !e.othersPresent && !prev.machine.context.leader ? 'internal' : { skip: 'tabs.role from another tab' };
    case 'tabs.quiet':
      return 'internal'; // alone, the coordinator answers a sign-out at once
    case 'transport.connected':
      if (prev.machine.matches({ tracking: { roster: { watching: 'connecting' } } })) return 'internal';
      if (prev.machine.matches({ tracking: { roster: { watching: 'live' } } })) return 'driven';
      return { skip: 'reconnect while a list is in flight' };
    case 'xstate.done.actor.identify':
      return e.output === null ? { skip: 'identify: no session' } : 'internal';
    case 'xstate.done.actor.loadRoster':
    case 'xstate.done.actor.write':
    case 'xstate.done.actor.removeRow':
      return 'internal';
    default:
      return { skip: e.type.startsWith('xstate.after.') ? `${e.type.split('.').pop()} timer` : e.type };
  }
}

/** Null when the path can happen for real, else why not. */
function whyNotReal(path: Path): string | null {
  for (const [i, step] of path.steps.entries()) {
    const prev = path.steps[Math.max(0, i - 1)]!.state;
    const kind = kindOf(step, prev);
    if (typeof kind === 'object') return kind.skip;
    if (kind === 'driven' && !atRest(prev)) return `${step.event.type} sent mid-effect`;
  }
  return null;
}

/** Complete the model as the real world does: the first connect, every effect succeeding, the write gap, a lone tab coordinator's answer to its page hiding. */
function settle(s: Model, after?: string): Model {
  // A lone tab's coordinator makes its page's hiding the person's at once.
  const c = s.machine.context;
  if (after === 'page.hidden' && s.machine.matches('tracking') && c.tabsOf !== null && !c.othersPresent && !c.hidden) s = logic.next(s, { type: 'tab.hidden' });
  for (let i = 0; i < 30 && !atRestFully(s); i++) {
    const m = s.machine;
    const inflight = m.context.inflight;
    const candidates: Event[] = [
      identified,
      leads,
      { type: 'tabs.quiet' },
      { type: 'transport.connected' },
      rosterListed,
      inflight?.kind === 'remove' ? ({ type: 'xstate.done.actor.write', output: undefined, actorId: 'write' } as Event) : written,
      { type: 'xstate.done.actor.removeRow', output: undefined, actorId: 'removeRow' } as Event,
      ...s.timers.filter((t) => t.type.startsWith('xstate.after.writeGap')).map((t) => ({ type: t.type }) as unknown as Event),
    ];
    const next = candidates.find(
      (e) =>
        canOccur(s, e) &&
        (e.type !== 'transport.connected' || m.matches({ tracking: { roster: { watching: 'connecting' } } })) &&
        (e.type !== 'tabs.role' || (!m.context.leader && m.context.tabsOf !== null)) &&
        (!e.type.startsWith('xstate.done.actor.') || e.type.slice('xstate.done.actor.'.length) in m.children),
    );
    if (!next) break;
    s = logic.next(s, next);
  }
  return s;
}

const atRestFully = (s: Model) => atRest(s) && (!s.machine.matches('tracking') || s.machine.matches({ tracking: { writer: 'idle' } }));

function realAtRest(s: SessionSnapshot): boolean {
  if (!STABLE.has(selectPhase(s))) return false;
  if (!s.matches('tracking')) return busyChildren(s.children).length === 0;
  return s.matches({ tracking: { roster: { watching: 'live' }, writer: 'idle' } });
}

/** The same traversal as the model's, with only the steps the rule admits: paths that can happen for real. */
const admitted = (s: Model, e: EventObject) => {
  if (!canOccur(s, e)) return false;
  const kind = kindOf({ event: e as Event }, s);
  return kind === 'internal' || (kind === 'driven' && atRest(s));
};
const realFromStart = getShortestPaths(logic, { events, input, serializeState: key, filterEvents: admitted, stopWhen: expandOnce(plainKey, 8) });
const realFromLive = getShortestPaths(logic, {
  events,
  fromState: warm.state,
  serializeState: key,
  filterEvents: admitted,
  stopWhen: expandOnce(plainKey, warm.state.depth + 5),
}).map((path) => joinPaths(warm, path));
const realPaths = coveringPaths([...realFromStart, ...realFromLive]);
const covered = paths.filter((p) => whyNotReal(p) === null);
const replayable = [...covered, ...realPaths.filter((p) => !covered.some((c) => name(c) === name(p)))];
const skipped = new Map<string, number>();
for (const p of paths) {
  const why = whyNotReal(p);
  if (why !== null) skipped.set(why, (skipped.get(why) ?? 0) + 1);
}

// ---- the real world ----------------------------------------------------------------------------

async function person(user: SdkUser) {
  const controller = createPresence({
    transport: createAppwriteTransport({ client: user.client, sdk: Appwrite }),
    tabs: false,
    document: null,
    window: null,
  });
  running.push(controller);
  return controller;
}

const describeReal = (s: SessionSnapshot) => JSON.stringify({ value: s.value, children: Object.keys(s.children), error: s.context.error });

describe('session machine paths: replayed on the emulator with an observer', () => {
  it('the rule leaves paths to replay and says why it skips the others', () => {
    // Printed for the report: how many paths run for real, and why the rest cannot.
    console.info(`session paths on the emulator: ${covered.length} of the model's ${paths.length} replayed, plus ${replayable.length - covered.length} real-world paths (${realPaths.length} generated); skipped: ${JSON.stringify(Object.fromEntries(skipped))}`);
    expect(replayable.length).toBeGreaterThan(10);
    expect(realPaths.every((p) => whyNotReal(p) === null)).toBe(true);
    expect(covered.length + [...skipped.values()].reduce((a, b) => a + b, 0)).toBe(paths.length);
  });

  it.each(replayable.map((p) => [name(p), p] as const))('%s', (_, path) => replay(path));

  it('replays the page, sign-out and identity paths of the issue: unload, freeze/resume, another tab signing out, an identity change', () => {
    const names = replayable.map(name);
    for (const step of ['page.hide', 'page.freeze', 'page.resume', 'tabs.signout', 'session.signOut', 'identity.changed']) {
      expect(names.some((n) => n.includes(step)), step).toBe(true);
    }
  });
});

async function replay(path: Path) {
  {
    const projectId = newProject();
    const [ada, bob, watcher] = [await guest(emulator.url, projectId), await guest(emulator.url, projectId), await guest(emulator.url, projectId)];
    const users: Record<string, SdkUser> = { u1: ada, u2: bob };
    const observer = await person(watcher);
    const me = await person(ada);
    expect(await observer.start()).toBe(true);

    let teamId: string | null = null;
    if (path.steps.some((s) => s.event.type === 'team.changed')) {
      teamId = (await ada.teams.create({ teamId: ID.unique(), name: 'path team' })).$id;
      const admin = keyClient(emulator.url, projectId, KEY);
      for (const u of [bob, watcher]) await admin.teams.createMembership({ teamId, roles: [], userId: u.userId! });
    }

    const realId = (modelId: string | undefined) => (modelId === undefined ? undefined : users[modelId]!.userId!);
    let signedInAs = 'u1';
    for (const [i, step] of path.steps.entries()) {
      const prev = path.steps[Math.max(0, i - 1)]!.state;
      const at = `step ${i} (${step.event.type})`;
      if (kindOf(step, prev) === 'driven') {
        let resynced = false;
        const watch = me.actor.subscribe((s) => {
          if (s.matches({ tracking: { roster: { watching: 'resyncing' } } })) resynced = true;
        });
        const e = step.event as Event;
        switch (e.type) {
          case 'session.start':
            void me.start({ ...(e.options?.auto === undefined ? {} : { auto: e.options.auto }), ...(e.options?.status === undefined ? {} : { status: e.options.status }), ...(e.options?.heartbeatMs === undefined ? {} : { heartbeatMs: e.options.heartbeatMs }), ...(e.options?.idleMs === undefined ? {} : { idleMs: e.options.idleMs }) });
            break;
          case 'session.set':
            void me.set(e.status, e.metadata ?? undefined);
            break;
          case 'session.clear':
            void me.clear();
            break;
          case 'session.stop':
            void me.stop();
            break;
          case 'team.changed':
            me.setTeam(e.teamId === null ? null : teamId);
            observer.setTeam(e.teamId === null ? null : teamId);
            break;
          case 'session.signOut':
            void me.beforeSignOut();
            break;
          case 'identity.changed': {
            if (e.identity === null) me.setIdentity(null);
            else {
              const user = users[e.identity.userId]!;
              // Another user: the old row goes while the old session works, as the README asks.
              if (e.identity.userId !== signedInAs && me.actor.getSnapshot().matches('tracking')) await me.beforeSignOut();
              ada.client.setSession(user.token!); // the person's client signs in as that user
              signedInAs = e.identity.userId;
              me.setIdentity({ userId: user.userId!, name: e.identity.name });
            }
            break;
          }
          case 'transport.connected':
            emulator.dropSockets();
            await untilChange(me, () => resynced && realAtRest(me.actor.getSnapshot()), 5_000, () => `${at}: no resync; ${describeReal(me.actor.getSnapshot())}`);
            break;
          default:
            me.actor.send(e as never);
        }
        watch.unsubscribe();
      }
      const next = path.steps[i + 1];
      const checkpoint = next === undefined || kindOf(next, step.state) === 'driven';
      if (!checkpoint || i === 0) continue;

      // The model completed as the real world completes it; the real machine must rest there.
      const expected = settle(step.state, step.event.type).machine;
      const phase = selectPhase(expected);
      const status = selectMe(expected);
      await untilChange(
        me,
        () => realAtRest(me.actor.getSnapshot()) && selectPhase(me.actor.getSnapshot()) === phase,
        5_000,
        () => `${at}: expected ${phase}, real ${describeReal(me.actor.getSnapshot())}`,
      );
      expect(me.view().me, `${at}: me`).toBe(status);
      expect(me.actor.getSnapshot().context.teamId === null, `${at}: team scope`).toBe(expected.context.teamId === null);

      // What the observer sees, within 1 s. A frozen page has only stepped down: its row stays
      // (the person is still there, hidden) and lapses at its expiresAt unless the page resumes.
      const current = realId(expected.context.identity?.userId);
      const kept = phase === 'frozen' && expected.context.hasRow ? current : undefined;
      const others = [ada.userId!, bob.userId!].filter((id) => id !== kept && (id !== current || status === null));
      const sees = () => observer.of(current ?? '')?.status ?? null;
      await untilChange(
        observer,
        () => (status === null || sees() === status) && others.every((id) => observer.of(id) === null),
        1_000,
        () => `${at}: observer expected ${current}=${status}, others absent; sees ${JSON.stringify(observer.all().map((p) => [p.userId === ada.userId ? 'ada' : p.userId === bob.userId ? 'bob' : 'observer', p.status]))}`,
      );
    }
  }
}
