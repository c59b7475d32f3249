/**
 * The truth for real-time tests: every row the server confirmed, learnt from the writers' own SDK
 * (a `Presences` subclass records each upsert answer and each delete), so the state of any
 * person's row at any moment can be told after the fact — the row was live at `t` when its latest
 * upsert before `t` had `expiresAt > t` and no delete came between. A delete is known only within
 * [request sent, answer received]; moments inside that window are reported as ambiguous.
 * The emulator runs in this process on the system clock, so server time is `Date.now()`.
 */
import * as Appwrite from 'appwrite';
import type { AppwriteSdk } from '../../../src/transport/appwrite';

type Entry =
  | { kind: 'row'; at: number; status: string; expiresAt: number }
  | { kind: 'deleted'; from: number; at: number };

export type RowState = { state: 'live'; status: string; expiresAt: number } | { state: 'gone' } | { state: 'ambiguous' };

export class Ledger {
  private readonly byUser = new Map<string, Entry[]>();
  /** 5xx answers the writers got (injected faults). */
  failedWrites = 0;

  /** An SDK namespace whose Presences report to this ledger (one per person: it knows the user). */
  sdkFor(userId: string): AppwriteSdk {
    const ledger = this;
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
          ledger.row(row.userId, Date.parse(row.$updatedAt), row.status ?? '', row.expiresAt ? Date.parse(row.expiresAt) : Infinity);
          return row;
        } catch (error) {
          ledger.noteFailure(error, userId);
          throw error;
        }
      }

      async delete(params: { presenceId: string }) {
        const from = Date.now();
        try {
          const answer = await this.inner.delete(params);
          ledger.deleted(userId, from, Date.now());
          return answer;
        } catch (error) {
          if (error instanceof Appwrite.AppwriteException && error.code === 404) ledger.deleted(userId, from, Date.now());
          ledger.noteFailure(error, userId);
          throw error;
        }
      }
    }
    return { ...(Appwrite as unknown as AppwriteSdk), Presences: LedgerPresences as unknown as AppwriteSdk['Presences'] };
  }

  row(userId: string, at: number, status: string, expiresAt: number): void {
    this.entries(userId).push({ kind: 'row', at, status, expiresAt });
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
    if (!latest || latest.kind === 'deleted') return { state: 'gone' };
    if (Math.abs(latest.expiresAt - t) <= marginMs) return { state: 'ambiguous' };
    return latest.expiresAt > t ? { state: 'live', status: latest.status, expiresAt: latest.expiresAt } : { state: 'gone' };
  }

  /** expiresAt of the last row confirmed for `userId` (-Infinity when deleted since, or never written). */
  lastExpiry(userId: string): number {
    const last = this.byUser.get(userId)?.at(-1);
    return last?.kind === 'row' ? last.expiresAt : -Infinity;
  }

  /** What the ledger holds for `userId` (diagnostics). */
  history(userId: string): string {
    return (this.byUser.get(userId) ?? [])
      .map((e) => (e.kind === 'row' ? `${e.status}@${e.at % 100_000}→${e.expiresAt % 100_000}` : `del@${e.from % 100_000}-${e.at % 100_000}`))
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
