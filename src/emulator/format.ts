/**
 * Wire formats shared by every module: Appwrite's datetime string (utopia `DateTime::formatTz`,
 * `Y-m-d\TH:i:s.vP`, always UTC here) and the 20-hex-char ids the SDK's `ID.unique()` makes.
 * Times inside the emulator are milliseconds since the epoch on the emulator's clock.
 */
import { randomInt } from 'node:crypto';

/** `2026-08-21T13:42:57.123+00:00` */
export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+00:00');
}

/** Same shape as the SDK's `ID.unique()`: hex seconds, 5 hex digits of milliseconds, 7 random hex digits. */
export function uniqueId(now: number): string {
  const seconds = Math.floor(now / 1000).toString(16);
  const millis = (now % 1000).toString(16).padStart(5, '0');
  let padding = '';
  for (let i = 0; i < 7; i++) padding += randomInt(16).toString(16);
  return seconds + millis + padding;
}

/** The emulator's clock; tests inject one to move time (expiry) or skew it (server-clock estimates). */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
