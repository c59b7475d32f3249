/**
 * The people: a mutable store keyed by userId (Appwrite keeps one row per user) with ONE expiry
 * timer and bounded tombstones. Per user, the event with the highest `updatedAt` decides: an upsert
 * applies when not older than the held row, a delete when not older, and a delete, an out-of-scope
 * upsert, an upsert already expired on arrival or expiry itself leave a tombstone that blocks upserts
 * up to its `updatedAt` for TOMBSTONE_MS. A peer leaves at `expiresAt` on the server clock.
 *
 * Why this and not one XState actor per peer (peer.ts, kept as the model and test oracle): at
 * N = 10 000 one map and one timer keep memory 7× and event cost ~35× below the actors — the
 * figures and the command are in bench/README.md ("Roster vs one actor per peer").
 */
import { colorOf, sameJson, type PresenceRecord } from '../records';
import { isPeerDoc, isSelfRecord, isTime, isUserId } from './roster-input';
import type { Metadata, PeerDoc } from '../transport/types';

/**
 * How long a tombstone blocks stale upserts. With the default heartbeat our writers set `expiresAt`
 * at most 5 minutes after `updatedAt` (hidden tabs), so once a tombstone is 10 minutes old any row
 * it could block arrives already expired: from then on the expiry check does the blocking.
 */
export const TOMBSTONE_MS = 10 * 60_000;
/** Tombstones kept at most; past it the oldest eighth goes. A whole 10 000-person roster vanishing fits. */
export const MAX_TOMBSTONES = 10_000;
/** Patches kept for the next list() read; past this a full rebuild is as cheap (and memory stays bounded). */
const MAX_PATCHES = 4_096;
/** setTimeout's ceiling (2^31 − 1 ms, ~24.8 days); a longer delay would fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;

export interface RosterOptions {
  /** Server clock (`ServerClock` or anything with `now()` in server ms). */
  clock: { now(): number };
  /** What may enter the roster (team scoping). A doc outside it counts as that peer's removal. */
  scope?: (doc: PeerDoc) => boolean;
  /** Called synchronously after every visible change, expiry included. */
  onChange?: () => void;
}

/** Our own optimistic record, shown instead of the server's row for self. */
export interface SelfRecord {
  status: string;
  metadata: Metadata;
  lastSeen: number;
  expiresAt: number | null;
}

/**
 * Everyone present, kept cheap at 10 000 peers: applying an event touches one entry and
 * allocates nothing for a known peer; `list()`/`records()` are rebuilt only when read after a change.
 *
 * Reset protocol (load and resync): ask for the list, BUFFER every peer event that arrives while it
 * is in flight, call `reset(list)`, then replay the buffer in arrival order through
 * `upsert`/`remove`. `reset` merges the list by the same rules as `upsert` (a held row newer than
 * the listed one stays; tombstones still block older rows) and removes every present peer the list
 * does not mention, leaving a tombstone at its held `updatedAt`. The replay then brings in what
 * changed after the server took the list and drops what is older. Events applied directly instead
 * of buffered count as part of the old view: a peer that arrived that way and is not in the list vanishes.
 *
 * @example
 * const roster = new Roster({ clock, onChange: () => requestRender() });
 * roster.reset(loaded.peers);
 * buffered.forEach((e) => (e.type === 'peer.upserted' ? roster.upsert(e.peer) : roster.remove(e.peer)));
 * roster.list(); // PresenceRecord[]
 */
export class Roster {
  private readonly clock: { now(): number };
  private readonly scope: ((doc: PeerDoc) => boolean) | undefined;
  private readonly onChange: (() => void) | undefined;
  private readonly live = new Map<string, Entry>();
  /** Insertion order is burial order, so the oldest tombstone is always first. */
  private readonly tombs = new Map<string, Entry>();
  /** goneAt of the first tombstone when last looked (a re-joined head only makes it older). */
  private oldestTomb = Infinity;
  private selfId: string | null = null;
  /** undefined: show the server's row for self; null: hide self; a record: show it. */
  private self: SelfRecord | null | undefined = undefined;
  private selfView: PresenceRecord | null = null;
  /** The list last built; still current while `listStale` is false. */
  private listCache: PresenceRecord[] | null = null;
  private listStale = true;
  /** Someone came, went or moved since the list was built: the next read rebuilds it in full. */
  private reorder = true;
  /** Otherwise, the present peers whose record changed in place: the next read patches their slots. */
  private readonly patches: Entry[] = [];
  private recordsCache: Record<string, PresenceRecord> | null = null;
  private changes = 0;
  private timer: ReturnType<typeof globalThis.setTimeout> | undefined = undefined;
  /** Server time the timer was armed for (Infinity: none); a later expiry never rearms it. */
  private timerAt = Infinity;

  constructor(options: RosterOptions) {
    this.clock = options.clock;
    this.scope = options.scope;
    this.onChange = options.onChange;
  }

  /** Bumps on every visible change. */
  get version(): number {
    return this.changes;
  }

  /** How many records `list()` returns. */
  get size(): number {
    let n = this.live.size;
    if (this.selfId !== null && this.self !== undefined) {
      if (this.live.has(this.selfId)) n--;
      if (this.self !== null) n++;
    }
    return n;
  }

  /** Server doc for a peer. Applies when newer or equal ($updatedAt), ignores stale, honours tombstones. */
  upsert(doc: PeerDoc): boolean {
    if (!isPeerDoc(doc)) return false;
    const now = this.clock.now();
    // A throttled or suspended timer is late; events still arrive, so settle what is due first.
    const swept = now >= this.timerAt && this.sweep(now);
    const changed = this.apply(doc, now) || swept;
    if (changed) this.notify();
    return changed;
  }

  /** Delete event: removes the peer if the event is not older than what we hold; leaves a tombstone. */
  remove(doc: Pick<PeerDoc, 'userId' | 'updatedAt'>): boolean {
    if (typeof doc !== 'object' || doc === null || !isUserId(doc.userId) || !isTime(doc.updatedAt)) return false;
    const now = this.clock.now();
    const swept = now >= this.timerAt && this.sweep(now);
    const changed = this.drop(doc.userId, doc.updatedAt, now) || swept;
    if (changed) this.notify();
    return changed;
  }

  /** Full list from the server (load or resync): replaces the server view, then the buffer replays. */
  reset(docs: PeerDoc[]): void {
    if (!Array.isArray(docs)) return;
    const now = this.clock.now();
    const listed = new Set<string>();
    let changed = false;
    for (const doc of docs) {
      if (!isPeerDoc(doc)) continue;
      listed.add(doc.userId);
      if (this.apply(doc, now)) changed = true;
    }
    for (const entry of this.live.values()) {
      if (!listed.has(entry.userId) && this.drop(entry.userId, entry.updatedAt, now)) changed = true;
    }
    if (changed) this.notify();
  }

  /**
   * Our own optimistic record, shown instead of the server's row for self; null hides self;
   * undefined = use server data. Self shows first in `list()` while overlaid and never expires
   * through the roster's timer (the session refreshes it).
   */
  setSelf(userId: string | null, record: SelfRecord | null | undefined): void {
    const id = isUserId(userId) ? userId : null;
    if (record !== undefined && record !== null && !isSelfRecord(record)) return;
    const next = id === null ? undefined : record;
    if (id === this.selfId && sameSelf(this.self, next)) return;
    const visible = (this.selfId !== null && this.self !== undefined) || (id !== null && next !== undefined);
    this.selfId = id;
    this.self = next;
    this.selfView = null;
    this.reorder = true;
    if (visible) this.notify();
  }

  /** The record shown for `userId`, or null when that person is not present. */
  get(userId: string): PresenceRecord | null {
    if (!isUserId(userId)) return null;
    if (userId === this.selfId && this.self !== undefined) return this.selfRecord();
    const entry = this.live.get(userId);
    return entry === undefined ? null : recordOf(entry);
  }

  /** Everyone present (self first while overlaid). Cached: the same array until a visible change. Read-only. */
  list(): PresenceRecord[] {
    const built = this.listCache;
    if (built !== null && !this.listStale) return built;
    this.listStale = false;
    if (built !== null && !this.reorder) {
      // Only rows changed in place (the heartbeat case): copy and patch instead of walking the map.
      const out = built.slice();
      for (const entry of this.patches) out[entry.slot] = recordOf(entry);
      this.patches.length = 0;
      return (this.listCache = out);
    }
    this.reorder = false;
    this.patches.length = 0;
    const out: PresenceRecord[] = [];
    const overlaid = this.selfId !== null && this.self !== undefined;
    const self = overlaid ? this.selfRecord() : null;
    if (self !== null) out.push(self);
    const hidden = overlaid ? this.selfId : null;
    for (const entry of this.live.values()) {
      if (entry.userId === hidden) continue;
      entry.slot = out.length;
      out.push(recordOf(entry));
    }
    return (this.listCache = out);
  }

  /** The same records keyed by userId, in a null-prototype object (a userId may be `__proto__`). Cached. */
  records(): Record<string, PresenceRecord> {
    if (this.recordsCache !== null) return this.recordsCache;
    const out = Object.create(null) as Record<string, PresenceRecord>;
    for (const record of this.list()) out[record.userId] = record;
    return (this.recordsCache = out);
  }

  /** Forget everything (peers, tombstones, self) and cancel the timer. */
  clear(): void {
    this.disarm();
    const visible = this.size > 0;
    this.live.clear();
    this.tombs.clear();
    this.reorder = true;
    this.selfId = null;
    this.self = undefined;
    this.selfView = null;
    if (visible) this.notify();
  }

  // private

  /** Applies one valid doc; true when a visible record changed. */
  private apply(doc: PeerDoc, now: number): boolean {
    const userId = doc.userId;
    if (this.scope !== undefined && !this.scope(doc)) return this.drop(userId, doc.updatedAt, now);
    const held = this.live.get(userId);
    if (held !== undefined) {
      if (doc.updatedAt < held.updatedAt) return false;
      if (doc.expiresAt !== null && doc.expiresAt <= now) return this.drop(userId, doc.updatedAt, now);
      if (doc.updatedAt === held.updatedAt && sameRow(held, doc)) return false;
      hold(held, doc);
      if (doc.expiresAt !== null) this.arm(doc.expiresAt, now);
      if (!this.isVisible(userId)) return false;
      this.touch(held);
      return true;
    }
    let entry = this.tombs.size === 0 ? undefined : this.tombs.get(userId);
    if (entry !== undefined) {
      if (now - entry.goneAt < TOMBSTONE_MS && doc.updatedAt <= entry.updatedAt) return false;
      this.tombs.delete(userId);
    }
    entry ??= newEntry(userId);
    if (doc.expiresAt !== null && doc.expiresAt <= now) {
      entry.updatedAt = doc.updatedAt;
      this.bury(entry, now);
      return false;
    }
    hold(entry, doc);
    this.live.set(userId, entry);
    this.reorder = true;
    if (doc.expiresAt !== null) this.arm(doc.expiresAt, now);
    return this.isVisible(userId);
  }

  /** The peer is gone as of `updatedAt` (unless we hold something newer); true when visible. */
  private drop(userId: string, updatedAt: number, now: number): boolean {
    const held = this.live.get(userId);
    if (held !== undefined) {
      if (updatedAt < held.updatedAt) return false;
      this.live.delete(userId);
      this.reorder = true;
      held.updatedAt = updatedAt;
      this.bury(held, now);
      return this.isVisible(userId);
    }
    let tomb = this.tombs.get(userId);
    if (tomb !== undefined) {
      if (now - tomb.goneAt < TOMBSTONE_MS && updatedAt < tomb.updatedAt) return false;
      this.tombs.delete(userId); // re-inserted below, at the end: burial order stays time order
    }
    tomb ??= newEntry(userId);
    tomb.updatedAt = updatedAt;
    this.bury(tomb, now);
    return false;
  }

  /** Appends a tombstone; `entry` is in neither map (callers take it out first). */
  private bury(entry: Entry, now: number): void {
    release(entry, now);
    if (this.tombs.size === 0) this.oldestTomb = now;
    this.tombs.set(entry.userId, entry);
    // Walk from the oldest only when something is due, so a burial costs no iterator; past the cap,
    // drop an eighth at once, so a flood of deletes does not walk the map (and its holes) per delete.
    if (this.tombs.size <= MAX_TOMBSTONES && now - this.oldestTomb < TOMBSTONE_MS) return;
    const keep = this.tombs.size > MAX_TOMBSTONES ? MAX_TOMBSTONES - (MAX_TOMBSTONES >> 3) : MAX_TOMBSTONES;
    this.oldestTomb = Infinity;
    for (const oldest of this.tombs.values()) {
      if (this.tombs.size <= keep && now - oldest.goneAt < TOMBSTONE_MS) {
        this.oldestTomb = oldest.goneAt;
        break;
      }
      this.tombs.delete(oldest.userId);
    }
  }

  /** Drops every peer due by `now` and arms the timer for the next one; true when visible. */
  private sweep(now: number): boolean {
    this.disarm();
    let changed = false;
    let next = Infinity;
    for (const entry of this.live.values()) {
      const at = entry.expiry;
      if (at > now) {
        if (at < next) next = at;
      } else {
        this.live.delete(entry.userId);
        this.reorder = true;
        this.bury(entry, now);
        if (this.isVisible(entry.userId)) changed = true;
      }
    }
    if (next < Infinity) this.arm(next, now);
    return changed;
  }

  /** Arms the one timer for `at` unless it already fires earlier (refreshes never rearm it). */
  private arm(at: number, now: number): void {
    if (at >= this.timerAt) return;
    this.disarm();
    this.timerAt = at;
    // Rounded up: firing a fraction early would only find nothing due and rearm.
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, Math.ceil(at - now)));
    this.timer = globalThis.setTimeout(this.fire, delay);
  }

  private disarm(): void {
    if (this.timer !== undefined) globalThis.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.timerAt = Infinity;
    if (this.sweep(this.clock.now())) this.notify();
  };

  private isVisible(userId: string): boolean {
    return userId !== this.selfId || this.self === undefined;
  }

  private selfRecord(): PresenceRecord | null {
    const self = this.self;
    if (self === null || self === undefined || this.selfId === null) return null;
    return (this.selfView ??= toRecord(this.selfId, self.status, self.metadata, self.lastSeen, self.expiresAt));
  }

  private touch(entry: Entry): void {
    if (this.reorder) return;
    if (this.patches.length < MAX_PATCHES) this.patches.push(entry);
    else this.reorder = true;
  }

  private notify(): void {
    this.changes++;
    this.listStale = true;
    this.recordsCache = null;
    this.onChange?.();
  }
}

/**
 * One user's row, or its tombstone (same object, moved between the maps: no allocation per event).
 * A plain object from one literal, not a class: with our ES2020 target a class's field initialisers
 * compile to one `__publicField` helper call each (define semantics), which made a join ~2× dearer.
 */
interface Entry {
  readonly userId: string;
  status: string;
  metadata: Metadata;
  updatedAt: number;
  /** Infinity for a row without expiresAt: a number field stays an unboxed double, null would box it. */
  expiry: number;
  /** Server time the row became a tombstone. */
  goneAt: number;
  record: PresenceRecord | null;
  /** Index in the roster's last full list build. */
  slot: number;
}

function newEntry(userId: string): Entry {
  return { userId, status: '', metadata: EMPTY, updatedAt: -Infinity, expiry: Infinity, goneAt: -Infinity, record: null, slot: 0 };
}

function hold(entry: Entry, doc: PeerDoc): void {
  entry.status = doc.status;
  entry.metadata = doc.metadata;
  entry.updatedAt = doc.updatedAt;
  entry.expiry = doc.expiresAt ?? Infinity;
  entry.record = null;
}

function release(entry: Entry, now: number): void {
  entry.status = '';
  entry.metadata = EMPTY;
  entry.expiry = Infinity;
  entry.record = null;
  entry.goneAt = now;
}

const EMPTY: Metadata = Object.freeze({}) as Metadata;

function recordOf(entry: Entry): PresenceRecord {
  if (entry.record !== null) return entry.record;
  const expiresAt = entry.expiry === Infinity ? null : entry.expiry;
  return (entry.record = toRecord(entry.userId, entry.status, entry.metadata, entry.updatedAt, expiresAt));
}

/** The public shape: colour from the userId only, `name` a string or null, `color` never from the wire. */
function toRecord(userId: string, status: string, metadata: Metadata, lastSeen: number, expiresAt: number | null): PresenceRecord {
  const color = colorOf(userId);
  const name = typeof metadata.name === 'string' ? metadata.name : null;
  return {
    userId,
    status,
    metadata: { ...metadata, name, color },
    color,
    lastSeen,
    expiresAt: expiresAt === null ? null : new Date(expiresAt).toISOString(),
  };
}

function sameRow(entry: Entry, doc: PeerDoc): boolean {
  return entry.status === doc.status && entry.expiry === (doc.expiresAt ?? Infinity) && sameJson(entry.metadata, doc.metadata);
}

function sameSelf(a: SelfRecord | null | undefined, b: SelfRecord | null | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  return a.status === b.status && a.lastSeen === b.lastSeen && a.expiresAt === b.expiresAt && sameJson(a.metadata, b.metadata);
}
