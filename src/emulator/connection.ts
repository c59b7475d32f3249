/**
 * One realtime socket's server-side state: who it is (user and roles, which route events), its
 * subscriptions, and the presence rows it published (id → the payload it last sent), which are
 * deleted when it closes. Owned by realtime.ts; events.ts and state.ts only read or prune it.
 */
import type WebSocket from 'ws';
import type { RuntimeQuery } from './queries.js';
import type { Project, User } from './state.js';

export interface Subscription {
  id: string;
  channels: Set<string>;
  /** The query strings as sent, echoed back in the subscribe response. */
  queries: string[];
  filters: RuntimeQuery[];
}

export type Frame = { type: string; data?: unknown };

export class Connection {
  user: User | null = null;
  /** Roles events are routed by: the user's roles, or `guests`. */
  roles: string[] = ['guests'];
  readonly subscriptions = new Map<string, Subscription>();
  readonly presences = new Map<string, Record<string, unknown>>();
  /** Fixed 60-s window message counter for the abuse limit. */
  window = { start: 0, count: 0 };

  constructor(
    readonly socket: WebSocket,
    readonly project: Project,
    readonly ip: string,
  ) {}

  send(frame: Frame): void {
    this.sendText(JSON.stringify(frame));
  }

  /** A frame already serialised (fan-out shares the serialisation across connections). */
  sendText(text: string): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(text);
  }
}
