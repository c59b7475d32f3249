/**
 * Physical removal of expired presence rows (reads already hide them). Two modes, as in spec §7:
 * silent (the open-source server's maintenance job, compressed from daily to `sweepEveryMs`, no
 * event) and announced (`--expiry-events`, Appwrite Cloud's documented `presences.<id>.delete`,
 * sent when the row expires). In announced mode one timer waits for the earliest expiry, re-checking
 * at least every second so an injected clock that jumps is still honoured.
 */
import type { Clock } from './format.js';
import type { PresenceService } from './presences.js';
import type { Projects } from './state.js';

const MAX_WAIT_MS = 1_000;

export interface ExpiryOptions {
  clock: Clock;
  projects: Projects;
  presences: () => PresenceService;
  announce: boolean;
  sweepEveryMs: number;
}

export class ExpirySweeper {
  private timer: NodeJS.Timeout | undefined;
  private nextAt: number | null = null;

  constructor(private readonly options: ExpiryOptions) {}

  start(): void {
    if (!this.options.announce) {
      this.timer = setInterval(() => this.sweep(), this.options.sweepEveryMs);
      this.timer.unref();
    }
  }

  /** A row now expires at `expiresAt`: in announced mode, wake up earlier if needed. */
  noteExpiry(expiresAt: number | null): void {
    if (!this.options.announce || expiresAt === null) return;
    if (this.nextAt === null || expiresAt < this.nextAt) this.arm();
  }

  stop(): void {
    clearTimeout(this.timer);
    clearInterval(this.timer);
    this.timer = undefined;
    this.nextAt = null;
  }

  private sweep(): void {
    const now = this.options.clock.now();
    const service = this.options.presences();
    for (const project of this.options.projects.all()) service.expire(project, now, this.options.announce);
    if (this.options.announce) this.arm();
  }

  private arm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.nextAt = null;
    for (const project of this.options.projects.all()) {
      for (const row of project.presences.values()) {
        if (row.expiresAt !== null && (this.nextAt === null || row.expiresAt < this.nextAt)) this.nextAt = row.expiresAt;
      }
    }
    if (this.nextAt === null) return;
    const wait = Math.min(Math.max(this.nextAt - this.options.clock.now(), 0), MAX_WAIT_MS);
    this.timer = setTimeout(() => this.sweep(), wait);
    this.timer.unref();
  }
}
