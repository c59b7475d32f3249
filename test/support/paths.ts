/**
 * Model-based path testing helpers (CONVENTIONS, "Verified @xstate/graph recipe") plus one thing
 * the recipe lacks: TIME. A machine with several timers pending at once (connectTimeout, writeGap,
 * heartbeats) cannot be replayed step by step with `delayOf` alone, because moving the fake clock to
 * one timer fires every earlier one too. `withTimers(machine)` wraps the machine as an actor logic
 * whose snapshot also carries a virtual clock and the pending delayed events (recorded from the
 * `xstate.raise`/`xstate.cancel` actions the machine resolves), so the traversal only fires the timer
 * that is due first, and every path can be replayed exactly with fake timers. Each step also records
 * the transitions it took, which names edges (`byTransition`) and proves coverage
 * (`definedTransitions`). A parallel machine's product is large, so `expandOnce` bounds the traversal
 * and `coveringPaths` keeps the fewest shortest paths that still take every transition.
 */
import { vi } from 'vitest';
import {
  createEmptyActor,
  type ActorLogic,
  type ActorScope,
  type AnyStateMachine,
  type EventFromLogic,
  type EventObject,
  type InputFrom,
  type StateValue,
} from 'xstate';
import { getStateNodes } from 'xstate/graph';

/** The machine's own snapshot type, as `transition` returns it. */
export type MachineSnapshotOf<M extends AnyStateMachine> = ReturnType<M['transition']>;

/** A delayed event the machine has scheduled: `due` on the virtual clock; `order` breaks ties. */
export interface PendingTimer {
  id: string;
  type: string;
  due: number;
  order: number;
}

export interface TimedSnapshot<S> {
  status: 'active' | 'done' | 'error' | 'stopped';
  output: undefined;
  error: undefined;
  /** The machine's own snapshot. */
  machine: S;
  /** Virtual time (ms since the path began). */
  now: number;
  /** Steps taken since the initial snapshot. */
  depth: number;
  timers: PendingTimer[];
  /** Transitions (see `transitionKey`) taken by the step that produced this snapshot. */
  taken: string[];
}

interface ExecutedAction {
  type: string;
  params?: unknown;
}

interface TransitionLike {
  source: { id: string; transitions: Map<string, unknown[]>; always?: unknown[] };
  eventType: string;
}

/** A stable name for one transition of the definition: source state, event, branch index. */
export function transitionKey(t: TransitionLike): string {
  const always = t.source.always ?? [];
  const i = always.indexOf(t);
  if (i >= 0) return `${t.source.id} always #${i}`;
  return `${t.source.id} ${t.eventType} #${t.source.transitions.get(t.eventType)?.indexOf(t) ?? -1}`;
}

/** Every transition the machine defines (each guarded branch counts), by `transitionKey`. */
export function definedTransitions(machine: AnyStateMachine): string[] {
  const keys: string[] = [];
  for (const node of [machine.root, ...getStateNodes(machine.root)]) {
    for (const [type, list] of node.transitions) list.forEach((_, i) => keys.push(`${node.id} ${type} #${i}`));
    (node.always ?? []).forEach((_, i) => keys.push(`${node.id} always #${i}`));
  }
  return keys;
}

/** Every event type some state handles (`on`, `after`, invoke `onDone`/`onError`). */
export function handledEventTypes(machine: AnyStateMachine): string[] {
  const types = new Set<string>();
  for (const node of [machine.root, ...getStateNodes(machine.root)]) for (const type of node.transitions.keys()) types.add(type);
  return [...types];
}

/** The `after` events of the machine, e.g. `xstate.after.writeGap.session.tracking.writer.cooling`. */
export function afterEvents(machine: AnyStateMachine): { type: string }[] {
  return handledEventTypes(machine)
    .filter((type) => type.startsWith('xstate.after.'))
    .map((type) => ({ type }));
}

export const isAfter = (type: string) => type.startsWith('xstate.after.');

/** The timer that fires next (ties: the one scheduled first, as fake timers do). */
export function nextTimer<S>(s: TimedSnapshot<S>): PendingTimer | undefined {
  return [...s.timers].sort((a, b) => a.due - b.due || a.order - b.order)[0];
}

/**
 * The machine as a logic whose snapshots carry time. Actions are resolved but never executed
 * (as in xstate/graph's own traversal); only delayed raises and cancels are recorded.
 */
export function withTimers<M extends AnyStateMachine>(
  machine: M,
): ActorLogic<TimedSnapshot<MachineSnapshotOf<M>>, EventFromLogic<M>, InputFrom<M>> & {
  next(snapshot: TimedSnapshot<MachineSnapshotOf<M>>, event: EventFromLogic<M>): TimedSnapshot<MachineSnapshotOf<M>>;
} {
  let order = 0;
  const empty = createEmptyActor();
  // Generic over any machine: TS resolves `machine.transition` through AnyStateMachine's signature,
  // hence the `as MachineSnapshotOf<M>` on its results below.
  const run = (
    depth: number,
    now: number,
    timers: PendingTimer[],
    step: (scope: ActorScope<any, any, any, any>) => MachineSnapshotOf<M>,
  ): TimedSnapshot<MachineSnapshotOf<M>> => {
    const pending = [...timers];
    const taken: string[] = [];
    // A traversal scope like xstate/graph's createMockActorScope, with an executor that records
    // timers and a system that reports which transitions each microstep took. Built by hand, so
    // typed loosely: ActorScope's system has many members the traversal never touches.
    const scope = {
      self: empty,
      logger: () => {},
      id: '',
      sessionId: 'traversal',
      defer: () => {},
      emit: () => {},
      stopChild: () => {},
      system: {
        ...empty.system,
        _sendInspectionEvent: (event: { type: string; _transitions?: TransitionLike[] }) => {
          if (event.type === '@xstate.microstep') for (const t of event._transitions ?? []) taken.push(transitionKey(t));
        },
      },
      actionExecutor: (action: ExecutedAction) => {
        const params = action.params as { delay?: unknown; id?: unknown; event?: EventObject; sendId?: unknown } | undefined;
        if (action.type === 'xstate.raise' && typeof params?.delay === 'number' && params.event) {
          const id = String(params.id ?? params.event.type);
          const at = pending.findIndex((t) => t.id === id);
          if (at >= 0) pending.splice(at, 1);
          pending.push({ id, type: params.event.type, due: now + params.delay, order: order++ });
        } else if (action.type === 'xstate.cancel') {
          const at = pending.findIndex((t) => t.id === params?.sendId);
          if (at >= 0) pending.splice(at, 1);
        }
      },
    } as unknown as ActorScope<any, any, any, any>;
    const next = step(scope);
    return { status: next.status, output: undefined, error: undefined, machine: next, now, depth, timers: pending, taken };
  };

  const next = (snapshot: TimedSnapshot<MachineSnapshotOf<M>>, event: EventFromLogic<M>) => {
    const type: string = event.type;
    const fired = isAfter(type) ? snapshot.timers.find((t) => t.type === type) : undefined;
    const now = fired ? fired.due : snapshot.now;
    const timers = fired ? snapshot.timers.filter((t) => t !== fired) : snapshot.timers;
    return run(snapshot.depth + 1, now, timers, (scope) => machine.transition(snapshot.machine, event, scope) as MachineSnapshotOf<M>);
  };

  return {
    transition: (snapshot, event) => next(snapshot, event),
    getInitialSnapshot(_scope, input) {
      return run(0, 0, [], (scope) => machine.getInitialSnapshot(scope, input) as MachineSnapshotOf<M>);
    },
    getPersistedSnapshot: (snapshot) => snapshot,
    /** One step, without an actor scope (the logic never uses the caller's). */
    next,
  };
}

/**
 * Which events may follow: the machine can take them (xstate/graph's `can` filter), a done/error
 * event only for an actor that is running, and an `after` event only for the timer due first —
 * even when no transition takes it (a guarded timer that fires and does nothing still moves time).
 */
export function canOccur<S extends { can(e: EventObject): boolean; children: Record<string, unknown> }>(
  s: TimedSnapshot<S>,
  event: EventObject,
): boolean {
  if (s.status !== 'active') return false;
  if (isAfter(event.type)) return nextTimer(s)?.type === event.type;
  const settled = /^xstate\.(?:done|error)\.actor\.(.+)$/.exec(event.type);
  if (settled && !(settled[1]! in s.machine.children)) return false;
  return s.machine.can(event);
}

/**
 * Graph key = projected snapshot + pending timers (relative to now) + incoming edge, so shortest
 * paths cover transitions, not just states, and two snapshots that share a key behave alike.
 * The edge is named by the transitions it took, not only the event type: a valid and an invalid
 * `session.set` are the same event type but different transitions.
 */
export function byTransition<S extends { value: StateValue }>(project: (s: S) => unknown) {
  return (s: TimedSnapshot<S>, e?: EventObject, prev?: TimedSnapshot<S>): string => {
    const timers = [...s.timers].sort((a, b) => a.due - b.due || a.order - b.order).map((t) => `${t.type}@${t.due - s.now}`);
    const key = JSON.stringify([project(s.machine), timers]);
    return e && prev ? `${key} | ${JSON.stringify(prev.machine.value)} -${e.type} [${s.taken.join(', ')}]->` : key;
  };
}

/**
 * A `stopWhen` that keeps the traversal affordable with an edge-aware key: a snapshot is expanded
 * only the first time its edge-free key is met (later arrivals by other edges are leaves: they
 * behave alike, so they add the edge, not a subtree) and only up to `maxDepth` steps.
 */
export function expandOnce<S>(plainKey: (s: TimedSnapshot<S>) => string, maxDepth: number) {
  const expanded = new Set<string>();
  return (s: TimedSnapshot<S>): boolean => {
    if (s.depth >= maxDepth) return true;
    const key = plainKey(s);
    if (expanded.has(key)) return true;
    expanded.add(key);
    return false;
  };
}

/** A path's first step is always `xstate.init` (xstate/graph's convention). */
export interface InitEvent {
  type: 'xstate.init';
}

export interface TimedPath<S, E extends EventObject = EventObject> {
  state: TimedSnapshot<S>;
  steps: { event: E; state: TimedSnapshot<S> }[];
  weight: number;
}

/** The path that `events` take from `from` (every event must be possible). */
export function pathOf<S extends { can(e: EventObject): boolean; children: Record<string, unknown> }, E extends EventObject>(
  logic: { next(snapshot: TimedSnapshot<S>, event: E): TimedSnapshot<S> },
  from: TimedSnapshot<S>,
  events: E[],
): TimedPath<S, E | InitEvent> {
  const steps: TimedPath<S, E | InitEvent>['steps'] = [{ event: { type: 'xstate.init' }, state: from }];
  let state = from;
  for (const event of events) {
    if (!canOccur(state, event)) throw new Error(`${event.type} cannot occur in ${JSON.stringify(state.machine)}`);
    state = logic.next(state, event);
    steps.push({ event, state });
  }
  return { state, steps, weight: events.length };
}

/**
 * The fewest shortest paths that still take every transition some path takes: for each transition
 * the shortest path whose last step takes it, minus paths that are prefixes of chosen ones.
 */
export function coveringPaths<S, P extends TimedPath<S, EventObject>>(paths: P[]): P[] {
  const byTransitionTaken = new Map<string, P>();
  for (const path of [...paths].sort((a, b) => a.steps.length - b.steps.length)) {
    for (const t of path.state.taken) if (!byTransitionTaken.has(t)) byTransitionTaken.set(t, path);
  }
  const chosen = [...new Set(byTransitionTaken.values())];
  const trail = (p: P) => p.steps.map((s) => JSON.stringify(s.event)).join('\n');
  const trails = chosen.map(trail);
  return chosen.filter((p, i) => {
    const mine = trails[i]!;
    return !trails.some((other, j) => j !== i && other.length > mine.length && other.startsWith(`${mine}\n`));
  });
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** Run settled promise callbacks (a fromPromise finishing) without moving the clock. */
export const flush = () => vi.advanceTimersByTimeAsync(0);
