/**
 * What a new session knows: its input (roster, clock, defaults, the first team) and a context
 * that has chosen nothing, written nothing and leads its tabs until a coordinator says otherwise.
 * `start()` fills in the options (`freshStart` in implementations.ts); `beginTracking` starts each run's row.
 */
import { DEFAULT_HEARTBEAT_MS, DEFAULT_IDLE_MS, uniqueId } from './policy';
import type { SessionContext, SessionInput } from './types';

export const initialContext = (input: SessionInput): SessionContext => ({
  roster: input.roster,
  clock: input.clock,
  random: input.random ?? Math.random,
  newId: input.newId ?? uniqueId,
  defaults: input.defaults ?? {},
  checkMetadata: input.checkMetadata ?? (() => null),
  error: null,
  warning: null,
  identity: null,
  auto: true,
  heartbeatMs: DEFAULT_HEARTBEAT_MS,
  idleMs: DEFAULT_IDLE_MS,
  teamId: input.teamId ?? null,
  desired: null,
  confirmed: null,
  hidden: false,
  pageHidden: false,
  leader: true,
  othersPresent: false,
  tabsOf: null,
  unshared: false,
  presenceId: null,
  hasRow: false,
  rowVersion: null,
  loaded: false,
  linkUp: false,
  buffer: [],
  due: false,
  inflight: null,
  seq: 0,
  confirmedSeq: 0,
  failedSeq: 0,
  lastWriteFailed: false,
  failures: 0,
  wanted: false,
  restart: false,
  leaving: null,
  resumable: false,
});
