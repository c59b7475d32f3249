/**
 * Dev-only fault hooks under `/v1/emulator/` (no project, no key: a dev server's test surface,
 * never part of Appwrite): drop every realtime socket, refuse realtime upgrades, hold event
 * delivery, forget everything, fail a fraction of REST presence writes. Each is also a method of
 * the `startEmulator` result.
 */
import { routeNotFound } from './errors.js';
import type { Reply } from './http.js';
import { Params } from './params.js';
import { boolean, range, type Validator } from './validators.js';

/** The fault hooks as methods (dev only). */
export interface FaultControls {
  /** Kill every realtime socket without a close frame (as a dead network would); returns how many. Their rows are deleted at once, as on any close. */
  dropSockets(): number;
  /**
   * While `blocked`, refuse every realtime upgrade with a plain 403 (a proxy blocking WebSockets);
   * `drop` also kills the open sockets, as `dropSockets()` does. `false` lets the next attempt in.
   * Returns how many sockets were dropped.
   */
  blockRealtime(blocked: boolean, options?: { drop?: boolean }): number;
  /** Hold every event delivery for `ms` (0–3 600 000), then deliver in order to whoever is connected then. */
  pauseEvents(ms: number): void;
  /** Forget every project, user, session, team, row and socket, and end every fault. */
  reset(): void;
  /** Fail this fraction (0–1) of REST presence writes with Appwrite's 500 body; 0 turns it off. */
  failWrites(rate: number): void;
}

/** The longest pause a hook may ask for: an hour is already far past any test's patience. */
export const MAX_PAUSE_MS = 3_600_000;

export function fraction(): Validator<number> {
  return {
    parse: (value) =>
      typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 1
        ? { ok: true, value }
        : { ok: false, description: 'Value must be a number between 0 and 1' },
  };
}

/** Programmatic callers get the hooks' validation as a RangeError. */
export function checked<T>(name: string, value: unknown, validator: Validator<T>): T {
  const parsed = validator.parse(value);
  if (!parsed.ok) throw new RangeError(`${name}: ${parsed.description}`);
  return parsed.value;
}

export function handleHook(method: string, pathname: string, body: Record<string, unknown>, controls: FaultControls): Reply {
  if (method !== 'POST') throw routeNotFound();
  const params = Params.rest(body);
  switch (pathname) {
    case '/v1/emulator/drop-sockets':
      return { status: 200, body: { dropped: controls.dropSockets() } };
    case '/v1/emulator/block-realtime': {
      const blocked = params.required('blocked', boolean());
      const drop = params.optional('drop', boolean()) ?? false;
      return { status: 200, body: { blocked, dropped: controls.blockRealtime(blocked, { drop }) } };
    }
    case '/v1/emulator/pause-events': {
      const ms = params.required('ms', range(0, MAX_PAUSE_MS));
      controls.pauseEvents(ms);
      return { status: 200, body: { ms } };
    }
    case '/v1/emulator/reset':
      controls.reset();
      return { status: 200, body: {} };
    case '/v1/emulator/fail-writes': {
      const rate = params.required('rate', fraction());
      controls.failWrites(rate);
      return { status: 200, body: { rate } };
    }
    default:
      throw routeNotFound();
  }
}
