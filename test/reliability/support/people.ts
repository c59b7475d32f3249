/**
 * People for the reliability tests: a `createPresence` controller wired to the real Appwrite
 * transport over either the in-process sim (fake timers) or the SDK against the emulator, with a
 * page whose visibility the test flips, and the helpers that compare a roster with the truth.
 */
import type { DocumentLike } from '../../../src/platform';
import { createPresence, type PresenceController, type StartOptions } from '../../../src/presence';
import type { PresenceRecord } from '../../../src/records';
import { createAppwriteTransport } from '../../../src/transport/appwrite';
import type { SimRealtime, SimSdk, SimServer } from './sim';
import type { User } from '../../../src/emulator/state';

/** A page whose visibility the test controls (the `visibilitychange` contract of browsers). */
export class FakeDocument implements DocumentLike {
  visibilityState = 'visible';
  private readonly listeners = new Map<string, Set<() => void>>();

  addEventListener(type: string, listener: () => void): void {
    const set = this.listeners.get(type) ?? new Set();
    set.add(listener);
    this.listeners.set(type, set);
  }

  removeEventListener(type: string, listener: () => void): void {
    this.listeners.get(type)?.delete(listener);
  }

  hide(): void {
    this.set('hidden');
  }

  show(): void {
    this.set('visible');
  }

  /** The browser freezes the page (a background tab stops running) or lets it run again. */
  freeze(): void {
    this.fire('freeze');
  }

  resume(): void {
    this.fire('resume');
  }

  get hidden(): boolean {
    return this.visibilityState !== 'visible';
  }

  private set(state: string): void {
    if (state === this.visibilityState) return;
    this.visibilityState = state;
    this.fire('visibilitychange');
  }

  private fire(type: string): void {
    for (const listener of [...(this.listeners.get(type) ?? [])]) listener();
  }
}

export interface SimPerson {
  user: User;
  userId: string;
  controller: PresenceController;
  page: FakeDocument;
  warnings: string[];
  realtime: () => SimRealtime | null;
  /** The fake SDK's session (swap it to change identity). */
  session: SimSdk;
}

/** A person on the sim: real session machine, real roster, real Appwrite transport, fake SDK. */
export function simPerson(
  sim: SimServer,
  options: StartOptions & { name?: string; email?: string; teamId?: string | null; user?: User } = {},
): SimPerson {
  const user = options.user ?? sim.addUser({ name: options.name, email: options.email });
  const session = sim.sdkFor(user);
  const { sdk, client, realtime } = session;
  const warnings: string[] = [];
  const transport = createAppwriteTransport({ client, sdk, warn: (message) => warnings.push(message) });
  const page = new FakeDocument();
  const controller = createPresence({
    transport,
    tabs: false,
    document: page,
    window: null,
    random: () => 0.5,
    ...(options.heartbeatMs === undefined ? {} : { heartbeatMs: options.heartbeatMs }),
    ...(options.teamId === undefined ? {} : { teamId: options.teamId }),
  });
  return { user, userId: user.id, controller, page, warnings, realtime, session };
}

/** userId → status as one person's roster shows it. */
export function seen(controller: PresenceController): Record<string, string> {
  const out: Record<string, string> = {};
  for (const record of controller.all()) out[record.userId] = record.status;
  return out;
}

/** Same keys and values, whatever the order. */
export function sameView(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((key) => Object.hasOwn(b, key) && a[key] === b[key]);
}

/** What differs between a roster and the truth, for failure messages. */
export function diff(view: Record<string, string>, truth: Record<string, string>): string {
  const out: string[] = [];
  for (const [id, status] of Object.entries(truth)) if (view[id] !== status) out.push(`${id}: ${view[id] ?? 'absent'} ≠ ${status}`);
  for (const id of Object.keys(view)) if (!Object.hasOwn(truth, id)) out.push(`${id}: ghost (${view[id]})`);
  return out.join('; ');
}

export type { PresenceRecord };

/**
 * Under fake timers: advance time in `stepMs` steps until `promise` settles; throws (instead of
 * hanging the test) when it has not settled after `limitMs` of fake time.
 */
export async function settle<T>(promise: Promise<T>, limitMs = 60_000, stepMs = 10): Promise<T> {
  const { vi } = await import('vitest');
  let done = false;
  let value: T;
  let failure: unknown;
  let failed = false;
  promise.then(
    (v) => ((done = true), (value = v)),
    (e) => ((done = true), (failed = true), (failure = e)),
  );
  for (let waited = 0; !done && waited < limitMs; waited += stepMs) await vi.advanceTimersByTimeAsync(stepMs);
  if (!done) throw new Error(`did not settle within ${limitMs} ms of fake time`);
  if (failed) throw failure;
  return value!;
}
