/**
 * xstate's `setup()`, for building machines only — same call, same types, same machine.
 *
 * xstate's own `setup()` returns every action creator beside `createMachine` (sendTo, raise, log,
 * emit, cancel, enqueueActions, …), so any bundle that calls it carries all of them, used or not.
 * This one returns only `createMachine`, which does exactly what xstate's does: xstate's
 * `createMachine(config + schemas, { actors, actions, guards, delays })`. Our machines take their
 * action creators from 'xstate' directly, so nothing else of the returned object is ever used.
 * On the CDN script it saves 148–176 B min+gzip (measured; see bench/README.md, "Bundle").
 *
 * @example
 * export const machine = setup({ types: {} as { context: C; events: E }, actions: { … } }).createMachine({ … });
 */
import { createMachine, type AnyStateMachine } from 'xstate';
import type { setup as xstateSetup } from 'xstate';

type Implementations = { schemas?: unknown; actors?: object; actions?: object; guards?: object; delays?: object };

export const setup = ((implementations: Implementations) => ({
  createMachine: (config: object): AnyStateMachine =>
    createMachine({ ...config, schemas: implementations.schemas } as never, {
      actors: implementations.actors,
      actions: implementations.actions,
      guards: implementations.guards,
      delays: implementations.delays,
    } as never),
})) as unknown as typeof xstateSetup;
