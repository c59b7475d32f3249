/**
 * What the roster accepts from its callers. Wire data is untrusted even after the transport, and a
 * binding may hand over anything: a malformed doc or self record is ignored, never thrown on.
 */
import { isRecord } from '../records';
import type { PeerDoc } from '../transport/types';
import type { SelfRecord } from './roster';

/** Any Date-representable millisecond time (toISOString throws outside ±8.64e15). */
export function isTime(value: unknown): value is number {
  return typeof value === 'number' && value >= -8.64e15 && value <= 8.64e15;
}

export function isUserId(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

/** Wire data is untrusted even after the transport: a malformed doc is ignored, never thrown on. */
export function isPeerDoc(doc: unknown): doc is PeerDoc {
  if (typeof doc !== 'object' || doc === null) return false;
  const d = doc as Partial<Record<keyof PeerDoc, unknown>>;
  return (
    isUserId(d.userId) &&
    typeof d.status === 'string' &&
    isTime(d.updatedAt) &&
    (d.expiresAt === null || isTime(d.expiresAt)) &&
    isRecord(d.metadata)
  );
}

export function isSelfRecord(record: unknown): record is SelfRecord {
  if (typeof record !== 'object' || record === null) return false;
  const r = record as Partial<Record<keyof SelfRecord, unknown>>;
  return typeof r.status === 'string' && isRecord(r.metadata) && isTime(r.lastSeen) && (r.expiresAt === null || isTime(r.expiresAt));
}
