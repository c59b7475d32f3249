/**
 * The truth for real-time tests: every row the server confirmed, learnt from the writers' own SDK
 * (a `Presences` subclass records each upsert answer and each delete), so the state of any
 * person's row at any moment can be told after the fact — the row was live at `t` when its latest
 * upsert before `t` had `expiresAt > t` and no delete came between. A delete is known only within
 * [request sent, answer received]; moments inside that window are reported as ambiguous, and so is
 * the time after it while a write that raced it (answered from inside that window) would be live.
 * The emulator runs in this process on the system clock, so server time is `Date.now()`.
 * Rows carry their team (`metadata.team`, null when readable by all users), and a delete is booked
 * to the user whose row it removed (known from the upserts), so a person who changes identity or
 * team mid-run is told apart correctly.
 */
import * as Appwrite from 'appwrite';
import type { AppwriteSdk } from '../../../src/transport/appwrite';

type Entry =
  | { kind: 'row'; at: number; status: string; expiresAt: number; team: string | null }
  | { kind: 'deleted'; from: number; at: number };

export type RowState = { state: 'live'; status: string; expiresAt: number; team: string | null } | { state: 'gone' } | { state: 'ambiguous' };

export class Ledger {
  private readonly byUser = new Map<string, Entry[]>();
  /** 5xx answers the writers got (injected faults). */
  failedWrites = 0;

  /** userId of each row id an upsert confirmed: a delete names only the row. */
  private readonly owners = new Map<string, string>();

  /**
   * An SDK namespace whose Presences report to this ledger (one per person: `userId` is who is
   * signed in now, for a delete of a row this ledger never saw written).
   */
  sdkFor(userId: string | (() => string)): AppwriteSdk {
    const ledger = this;
    const current = typeof userId === 'function' ? userId : () => userId;
    type Upsert = Parameters<Appwrite.Presences['upsert']>[0] & object;
    class LedgerPresences {
      private readonly inner: Appwrite.Presences;
      constructor(client: Appwrite.Client) {
        this.inner = new Appwrite.Presences(client);
      }

      list(params: { queries?: string[]; total?: boolean }) {
        return this.inner.list(params);
      }

      async upsert(params: Upsert) {
        try {
          const row = await this.inner.upsert(params);
          ledger.owners.set(row.$id, row.userId);
          ledger.row(row.userId, Date.parse(row.$updatedAt), row.status ?? '', row.expiresAt ? Date.parse(row.expiresAt) : Infinity, teamOf(row.metadata));
          return row;
        } catch (error) {
          ledger.noteFailure(error, current());
          throw error;
        }
      }

      async delete(params: { presenceId: string }) {
        const from = Date.now();
        const owner = ledger.owners.get(params.presenceId) ?? current();
        try {
          const answer = await this.inner.delete(params);
          ledger.deleted(owner, from, Date.now());
          return answer;
        } catch (error) {
          if (error instanceof Appwrite.AppwriteException && error.code === 404) ledger.deleted(owner, from, Date.now());
          ledger.noteFailure(error, owner);
          throw error;
        }
      }
    }
    return { ...(Appwrite as unknown as AppwriteSdk), Presences: LedgerPresences as unknown as AppwriteSdk['Presences'] };
  }

  row(userId: string, at: number, status: string, expiresAt: number, team: string | null = null): void {
    this.entries(userId).push({ kind: 'row', at, status, expiresAt, team });
  }

  deleted(userId: string, from: number, at: number): void {
    this.entries(userId).push({ kind: 'deleted', from, at });
  }

  /** The row of `userId` at time `t`; `marginMs` around an expiry counts as ambiguous. */
  stateAt(userId: string, t: number, marginMs = 0): RowState {
    const entries = this.byUser.get(userId);
    if (!entries) return { state: 'gone' };
    let latest: Entry | undefined;
    for (const entry of entries) {
      if (entry.kind === 'deleted' && entry.from <= t && t < entry.at) return { state: 'ambiguous' };
      if (entry.at <= t && (!latest || entry.at >= latest.at)) latest = entry;
    }
    if (!latest) return { state: 'gone' };
    if (latest.kind === 'deleted') {
      // A write answered with a $updatedAt inside the delete's window raced it: the server may
      // have taken them in either order (a write in flight landing after the delete re-creates
      // the row), so until that row's expiry the truth is unknown here.
      const deleted = latest;
      const raced = entries.some((e) => e.kind === 'row' && e.at >= deleted.from && e.at <= deleted.at && t < e.expiresAt);
      return raced ? { state: 'ambiguous' } : { state: 'gone' };
    }
    if (Math.abs(latest.expiresAt - t) <= marginMs) return { state: 'ambiguous' };
    return latest.expiresAt > t ? { state: 'live', status: latest.status, expiresAt: latest.expiresAt, team: latest.team } : { state: 'gone' };
  }

  /** expiresAt of the last row confirmed for `userId` (-Infinity when deleted since, or never written). */
  lastExpiry(userId: string): number {
    const last = this.byUser.get(userId)?.at(-1);
    return last?.kind === 'row' ? last.expiresAt : -Infinity;
  }

  /** What the ledger holds for `userId` (diagnostics). */
  history(userId: string): string {
    return (this.byUser.get(userId) ?? [])
      .map((e) => (e.kind === 'row' ? `${e.status}${e.team === null ? '' : `[${e.team}]`}@${e.at % 100_000}→${e.expiresAt % 100_000}` : `del@${e.from % 100_000}-${e.at % 100_000}`))
      .join(' ');
  }

  users(): string[] {
    return [...this.byUser.keys()];
  }

  private entries(userId: string): Entry[] {
    let list = this.byUser.get(userId);
    if (!list) this.byUser.set(userId, (list = []));
    return list;
  }

  /** 5xx answers `userId` got in [from, to]. */
  failuresBetween(userId: string, from: number, to: number): number {
    return (this.failures.get(userId) ?? []).filter((at) => at >= from && at <= to).length;
  }

  private readonly failures = new Map<string, number[]>();

  private noteFailure(error: unknown, userId: string): void {
    if (!(error instanceof Appwrite.AppwriteException && error.code >= 500)) return;
    this.failedWrites++;
    const list = this.failures.get(userId) ?? [];
    list.push(Date.now());
    this.failures.set(userId, list);
  }
}

/** The team a row is scoped to, from the metadata the server answered (object or JSON text). */
function teamOf(metadata: unknown): string | null {
  let value = metadata;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return null;
    }
  }
  const team = typeof value === 'object' && value !== null ? (value as { team?: unknown }).team : undefined;
  return typeof team === 'string' ? team : null;
}
