/**
 * Idle while visible (issue 13, part 1) for real: createPresence on the real Appwrite SDK and
 * transport against the emulator, the person's page an EventTarget that is visible throughout.
 * An observer sees `away` once idleMs pass without input, then the person's own status after one
 * input; writes are counted at the SDK boundary (Presences.upsert): one per transition, none for
 * input by itself.
 */
import * as Appwrite from 'appwrite';
import { afterEach, describe, expect, it } from 'vitest';
import { guest } from '../support/sdk';
import { useEmulator } from '../support/emulator';
import { createPresence, type PresenceController, type PresenceOptions } from '../../src/presence';
import { createAppwriteTransport } from '../../src/transport/appwrite';
import type { DocumentLike } from '../../src/platform';
import { INPUT_EVERY_MS } from '../../src/platform/page';
import { untilChange } from '../support/wait';

const emulator = useEmulator();
let project = 0;
const running: PresenceController[] = [];

afterEach(() => {
  for (const controller of running.splice(0)) controller.dispose();
});

const IDLE_MS = 1_500;

/** A person whose writes (Presences.upsert calls) are counted, by status. */
async function person(projectId: string, options: Partial<PresenceOptions> = {}) {
  const user = await guest(emulator.url, projectId);
  const writes: string[] = [];
  class CountedPresences extends Appwrite.Presences {
    constructor(client: Appwrite.Client) {
      super(client);
      const upsert = this.upsert.bind(this) as (...args: unknown[]) => ReturnType<Appwrite.Presences['upsert']>;
      this.upsert = ((...args: unknown[]) => {
        const [first] = args as [{ status?: string } | string];
        writes.push(typeof first === 'string' ? String(args[1]) : (first?.status ?? '?'));
        return upsert(...args);
      }) as Appwrite.Presences['upsert'];
    }
  }
  const controller = createPresence({
    transport: createAppwriteTransport({ client: user.client, sdk: { ...Appwrite, Presences: CountedPresences } }),
    tabs: false,
    document: null,
    window: null,
    ...options,
  });
  running.push(controller);
  return { controller, userId: user.userId!, writes };
}

/** A visible page: its visibility and the events on it. */
const visiblePage = () => Object.assign(new EventTarget(), { visibilityState: 'visible' });

describe('idleMs on the emulator, with an observer', () => {
  it('a visible page without input goes away after idleMs, and input brings the custom status back; one write each', async () => {
    const projectId = `idle-${++project}`;
    const page = visiblePage();
    const ada = await person(projectId, { document: page as unknown as DocumentLike, idleMs: IDLE_MS });
    const observer = await person(projectId);
    const sees = () => observer.controller.of(ada.userId)?.status ?? null;
    const input = (type = 'pointermove') => page.dispatchEvent(new Event(type));

    expect(await observer.controller.start()).toBe(true);
    expect(await ada.controller.start({ status: 'busy' })).toBe(true);
    await untilChange(observer.controller, () => sees() === 'busy', 2_000, () => `observer sees ${sees()}`);

    // Input for twice idleMs: still busy, and not one write for it.
    const beforeInput = ada.writes.length;
    for (let i = 0; i < 15; i++) {
      input(['pointermove', 'keydown', 'wheel', 'pointerdown', 'touchstart', 'scroll'][i % 6]);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(sees()).toBe('busy');
    expect(ada.controller.view().me).toBe('busy');
    expect(ada.writes.slice(beforeInput)).toEqual([]);

    // No input: away after idleMs (never before, less the throttle: the last input reported may
    // be up to INPUT_EVERY_MS older than the last one made), one write.
    const lastInput = Date.now() - 200;
    await untilChange(observer.controller, () => sees() === 'away', IDLE_MS + 3_000, () => `observer sees ${sees()}`);
    expect(Date.now() - lastInput).toBeGreaterThanOrEqual(IDLE_MS - INPUT_EVERY_MS - 50);
    expect(ada.controller.view().me).toBe('away');
    expect(ada.writes.slice(beforeInput)).toEqual(['away']);

    // One key press: the custom status comes back, one write.
    input('keydown');
    await untilChange(observer.controller, () => sees() === 'busy', 2_000, () => `observer sees ${sees()}`);
    expect(ada.writes.slice(beforeInput)).toEqual(['away', 'busy']);
  });

  it('without a document (Node) nobody goes idle unless asked; with one, idleMs defaults to 5 minutes', async () => {
    const projectId = `idle-${++project}`;
    const node = await person(projectId);
    const browser = await person(projectId, { document: visiblePage() as unknown as DocumentLike });
    const asked = await person(projectId, { idleMs: 60_000 });
    for (const p of [node, browser, asked]) expect(await p.controller.start()).toBe(true);
    expect(node.controller.actor.getSnapshot().context.idleMs).toBe(0);
    expect(browser.controller.actor.getSnapshot().context.idleMs).toBe(300_000);
    expect(asked.controller.actor.getSnapshot().context.idleMs).toBe(60_000);
  });

  it('a bad idleMs is refused with a clear error and a false return', async () => {
    const projectId = `idle-${++project}`;
    const ada = await person(projectId);
    expect(await ada.controller.start({ idleMs: -5 })).toBe(false);
    expect(ada.controller.view().error).toBe('idleMs must be a number from 1000 to 864000000, got -5');
    expect(await ada.controller.start({ idleMs: 'soon' as unknown as number })).toBe(false);
    expect(ada.controller.view().error).toMatch(/^idleMs must be .* got soon$/);
    expect(await ada.controller.start({ idleMs: 0 })).toBe(true);
  });

  it('a bad default (as the manifest\'s presence block gives them) reaches start(), which refuses it with the reason', async () => {
    const projectId = `idle-${++project}`;
    const ada = await person(projectId, { idleMs: 'soon' as unknown as number });
    expect(await ada.controller.start()).toBe(false);
    expect(ada.controller.view().error).toBe('idleMs must be a number from 1000 to 864000000, got soon');
  });
  it('away for idleness on a visible page keeps the visible expiry (a sleeping laptop leaves within 3 H); the page hidden writes the 5-minute one at once', async () => {
    const H = 2_000;
    const projectId = `idle-${++project}`;
    const page = visiblePage();
    const ada = await person(projectId, { document: page as unknown as DocumentLike, idleMs: IDLE_MS, heartbeatMs: H });
    const observer = await person(projectId);
    const row = () => observer.controller.of(ada.userId);
    const lifetime = () => Date.parse(row()!.expiresAt!) - row()!.lastSeen;

    expect(await observer.controller.start()).toBe(true);
    expect(await ada.controller.start()).toBe(true);
    await untilChange(observer.controller, () => row()?.status === 'away', IDLE_MS + 3_000, () => `observer sees ${row()?.status}`);
    expect(lifetime()).toBeLessThanOrEqual(3 * H + 1_000);

    const writes = ada.writes.length;
    page.visibilityState = 'hidden';
    page.dispatchEvent(new Event('visibilitychange'));
    await untilChange(observer.controller, () => lifetime() >= 300_000 - 1_000, 2_000, () => `lifetime ${lifetime()} ms`);
    expect(ada.writes.slice(writes)).toEqual(['away']);
  });
});
