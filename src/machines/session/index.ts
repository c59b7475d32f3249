/**
 * The session machine and what bindings read from it. One idea per file: `machine.ts` (the
 * states), `context.ts` (a new session's context), `implementations.ts` (actors, delays, guards, actions), `policy.ts` (timing and retry),
 * `commands.ts` (validation and messages), `peers.ts` (the peer feed), `selectors.ts`, `types.ts`.
 */
export { sessionMachine, type SessionMachine } from './machine';
export type { TabsInput } from './implementations';
export * from './selectors';
export * from './policy';
export { liveUpdatesUnavailable, NOT_RUNNING, SIGN_IN_NEEDED, startProblem } from './commands';
export type * from './types';
