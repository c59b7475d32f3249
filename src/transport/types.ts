/**
 * What the machines need from a backend, in the machines' own words. Nothing here knows
 * Appwrite: `transport/codec.ts` turns documents and realtime frames into these shapes at
 * one boundary, and the machines never see a wire field. Times are milliseconds since the
 * epoch on the SERVER's clock unless a name says `local`.
 */
import type { AnyActorLogic, CallbackActorLogic, EventObject, PromiseActorLogic } from 'xstate';

/** Who is signed in. Never carries an email: nothing here may publish one. */
export interface Identity {
  userId: string;
  /** Account name; null for a guest or a nameless account (Appwrite returns "" for those). */
  name: string | null;
}

/** Plain JSON object attached to a status. */
export type Metadata = Record<string, unknown>;

/**
 * One person's presence as the server holds it (Appwrite keeps one row per user, so the
 * roster is keyed by userId; `id` is the row id, kept so we can delete it).
 */
export interface PeerDoc {
  id: string;
  userId: string;
  status: string;
  metadata: Metadata;
  /** Server time of the last write ($updatedAt), the version used to order events. */
  updatedAt: number;
  /** Server time after which the row is gone (Appwrite hides it silently); null = never. */
  expiresAt: number | null;
}

/** What the person wants published. `null` status means "no record" (cleared). */
export interface PublishInput {
  /** Row id to use when we have none yet; the server may answer with the existing row's id. */
  presenceId: string;
  status: string;
  metadata: Metadata;
  /** Server-clock time the row should expire at. */
  expiresAt: number;
  /** Team the record is scoped to: readable by that team only. null = readable by signed-in users. */
  teamId: string | null;
  /** The writer's user id; owner-only update/delete permissions are granted to it. */
  userId: string;
}

export interface PublishOutput {
  doc: PeerDoc;
  /** Local clock just before the request went out and just after the answer came back. */
  sentAtLocal: number;
  receivedAtLocal: number;
}

export interface RemoveInput {
  presenceId: string;
}

export interface LoadRosterInput {
  teamId: string | null;
}

export interface LoadRosterOutput {
  peers: PeerDoc[];
  /** Local clock when the last page arrived (for the clock estimate, with the rows' times). */
  receivedAtLocal: number;
}

export interface WatchPeersInput {
  teamId: string | null;
}

/** Events a transport sends back into the session machine while watching. */
export type TransportEvent =
  | { type: 'peer.upserted'; peer: PeerDoc; serverTime: number | null }
  | { type: 'peer.deleted'; peer: PeerDoc; serverTime: number | null }
  /** The realtime link came (back) up: the roster must be re-listed and our row re-asserted. */
  | { type: 'transport.connected' }
  | { type: 'transport.disconnected' }
  /** A frame or payload we could not use; the roster is left as it was. */
  | { type: 'transport.warning'; reason: string };

export type PeerEvent = Extract<TransportEvent, { type: 'peer.upserted' | 'peer.deleted' }>;

/**
 * What the session tells `watchPeers` (the direct feed): `apply` when the roster becomes live —
 * the watcher may hand each peer event to it instead of sending it back, and sends back those it
 * declines (our own row's: the machine must see them) — and null when the roster stops being
 * live (a list in flight buffers): from then on every event is sent back again. A watcher that
 * ignores it stays correct; it only pays the machine's step for every event.
 */
export type FeedCommand = { type: 'feed'; apply: ((event: PeerEvent) => boolean) | null };

/**
 * The named effects the session machine invokes. Every backend provides all of them; the
 * machine's own defaults are inert so the machine can be traversed and tested without one.
 */
export interface TransportActors {
  /** Who is signed in now, or null for nobody (no session at all). */
  identify: PromiseActorLogic<Identity | null, void>;
  /** Every page of the roster, expired rows excluded. */
  loadRoster: PromiseActorLogic<LoadRosterOutput, LoadRosterInput>;
  /** Realtime subscription to presence changes; returns its cleanup. Hears `FeedCommand`s. */
  watchPeers: CallbackActorLogic<EventObject, WatchPeersInput>;
  /** One upsert of our own row, with explicit expiry and permissions. */
  publish: PromiseActorLogic<PublishOutput, PublishInput>;
  /** Delete our own row. A row already gone counts as success. */
  remove: PromiseActorLogic<void, RemoveInput>;
}

export interface Transport {
  actors: TransportActors;
  /** What the backend's people share (Appwrite: the project id): tabs of one person coordinate under it. */
  scope?: string;
  /**
   * Best-effort delete that survives the page unloading (fetch keepalive). Used on `pagehide`
   * by the last tab; returns false when it could not even be sent.
   */
  removeOnUnload(presenceId: string): boolean;
  /**
   * Backend-specific limits on metadata beyond the shared ones (`records.checkMetadata`): why this
   * backend cannot carry it, or null. Checked before anything is sent.
   */
  checkMetadata?(metadata: unknown): string | null;
  /** Release sockets and listeners. */
  dispose(): void;
}

export type AnyTransportActor = AnyActorLogic;
