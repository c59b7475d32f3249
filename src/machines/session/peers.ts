/**
 * The peer feed and our own record: how the transport's rows and events reach the roster, what we
 * publish about ourselves, and what our own row's events tell us. Invariants: a record belongs to
 * the team its metadata names (none: the unscoped roster); our own record is shown optimistically
 * from the chosen status, never from the server; events that arrive while a list is in flight are
 * buffered and replayed after it, so none is lost or applied twice. While the roster is live, the
 * machine opens a direct feed (`directFeed`): others' events reach the roster without a machine
 * step, exactly as `live` would apply them; our own row's still go through the machine.
 */
import { colorOf } from '../../records';
import type { LoadRosterOutput, Metadata, PeerDoc } from '../../transport/types';
import type { SelfRecord } from '../roster';
import { ttlOf } from './policy';
import { effectiveStatus } from './selectors';
import type { PeerEvent, SessionContext } from './types';

/** Our metadata as published: `name` and `color` (the person may override them), then the team scope. */
export function publishedMetadata(context: SessionContext): Metadata {
  return {
    name: context.identity?.name ?? null,
    color: colorOf(context.identity?.userId ?? null),
    ...context.desired?.metadata,
    ...(context.teamId === null ? {} : { team: context.teamId }),
  };
}

/** Optimistic: the roster shows our current status at once, whatever the server says meanwhile. */
export function showSelf(context: SessionContext): void {
  const status = effectiveStatus(context);
  const now = context.clock.now();
  const record: SelfRecord | null = status === null ? null : { status, metadata: publishedMetadata(context), lastSeen: now, expiresAt: now + ttlOf(context) };
  context.roster.setSelf(context.identity?.userId ?? null, record);
}

export function hideSelf(context: SessionContext): void {
  context.roster.setSelf(context.identity?.userId ?? null, null);
}

export const isOwn = (context: SessionContext, event: PeerEvent) => event.peer.userId === context.identity?.userId;

/** A peer event about our own row (the machine routes only those: `ownPeer`): learn its id, or notice someone else deleted it. */
export function ownRow(context: SessionContext, event: PeerEvent): Partial<SessionContext> {
  if (event.type === 'peer.upserted') return { presenceId: event.peer.id, hasRow: true };
  // A delete older than the row we wrote is about a row we have already replaced.
  if (context.rowVersion !== null && event.peer.updatedAt < context.rowVersion) return {};
  // Another device of this user deleted the shared row (or it was our own removal): re-assert
  // when we still publish; a second write of the same status is harmless.
  return { hasRow: false, rowVersion: null, due: context.due || context.desired !== null };
}

/** A record belongs to the team it names; one naming no team belongs to the unscoped roster. */
function inScope(peer: PeerDoc, teamId: string | null): boolean {
  const team = typeof peer.metadata.team === 'string' ? peer.metadata.team : null;
  return team === teamId;
}

/** The server's time of an event is a lower bound of its clock now. */
export function sampleEventTime(context: SessionContext, event: PeerEvent): void {
  if (event.serverTime !== null) context.clock.sampleLowerBound(event.serverTime, Date.now());
}

/** Apply one peer event to the roster. */
export function applyPeer(context: SessionContext, event: PeerEvent): void {
  const { roster } = context;
  if (event.type === 'peer.deleted') {
    // The payload is the row as it was (for a socket close, even an older snapshot of it); the
    // deletion itself happened when the event was published, which is the version that counts.
    roster.remove({ userId: event.peer.userId, updatedAt: Math.max(event.peer.updatedAt, event.serverTime ?? 0) });
  } else if (!inScope(event.peer, context.teamId)) roster.remove(event.peer);
  else roster.upsert(event.peer);
}

/** What the live roster does with a peer event, through the machine or the direct feed: sample the clock, apply. */
export function applyLive(context: SessionContext, event: PeerEvent): void {
  sampleEventTime(context, event);
  applyPeer(context, event);
}

/**
 * The live roster's direct feed, handed to the watcher when `live` is entered: applies an event
 * about someone else as `live`'s own transition does (`applyLive`) and declines our own row's
 * (false: send it to the machine, which learns from it). It closes over the context of that
 * entry: what it reads (the roster, the clock, our userId, the team) cannot change while `live`
 * lasts — a new team or user leaves `watching`, a rename keeps the userId.
 */
export function directFeed(context: SessionContext): (event: PeerEvent) => boolean {
  return (event) => {
    if (isOwn(context, event)) return false;
    applyLive(context, event);
    return true;
  };
}

/** Hold a peer event while a list is in flight (the queue was made fresh for this list). */
export function bufferPeer(context: SessionContext, event: PeerEvent): void {
  sampleEventTime(context, event);
  context.buffer.push(event);
}

/** A list arrived: it becomes the roster, then the events held meanwhile are replayed over it. */
export function resetRoster(context: SessionContext, { peers, receivedAtLocal }: LoadRosterOutput): void {
  let newest = -Infinity;
  for (const peer of peers) newest = Math.max(newest, peer.updatedAt);
  if (newest > -Infinity) context.clock.sampleLowerBound(newest, receivedAtLocal);
  context.roster.reset(peers.filter((peer) => inScope(peer, context.teamId)));
  for (const buffered of context.buffer) applyPeer(context, buffered);
}

/** What a list says about our own row. */
export function ownListed(context: SessionContext, { peers }: LoadRosterOutput): Partial<SessionContext> {
  const self = context.identity?.userId;
  const own = peers.find((peer) => peer.userId === self);
  return own ? { presenceId: own.id, hasRow: true } : {};
}
