/**
 * Waiting for a condition in real-time tests, in one place: by polling (anything), or on every
 * change a presence controller (and its actor) reports.
 */
import type { PresenceController } from '../../src/presence';

/** Resolve once `probe()` holds, checked every `everyMs`; reject after `ms`. */
export function pollUntil(probe: () => boolean, ms: number, everyMs = 10): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (probe()) return resolve();
      if (Date.now() - started > ms) return reject(new Error(`not within ${ms} ms`));
      setTimeout(tick, everyMs);
    };
    tick();
  });
}

/**
 * Resolve with the elapsed ms once `probe()` holds, checked on every change the controller or
 * its actor reports; reject after `ms`, saying `what()`.
 */
export function untilChange(controller: PresenceController, probe: () => boolean, ms: number, what: () => string): Promise<number> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    let done = false;
    const stop = () => {
      done = true;
      clearTimeout(timer);
      unsubscribe();
      subscription.unsubscribe();
    };
    const check = () => {
      if (done || !probe()) return;
      stop();
      resolve(Date.now() - started);
    };
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`not within ${ms} ms: ${what()}`));
    }, ms);
    const unsubscribe = controller.subscribe(check);
    const subscription = controller.actor.subscribe(check);
    check();
  });
}

/** Yield to the event loop (channel delivery, lock grants) until `check` holds; throws after 500 turns. */
export async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (check()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`never happened: ${what}`);
}

/** Let every message in flight (BroadcastChannel, lock grants) arrive: 30 turns of the event loop. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 30; i++) await new Promise((resolve) => setImmediate(resolve));
}
