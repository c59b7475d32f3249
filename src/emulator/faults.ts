/**
 * Dev-only fault injection behind the `/v1/emulator/*` hooks that the emulator itself owns: the
 * failure rate of REST presence writes. (Dropping sockets belongs to realtime.ts, pausing events
 * to events.ts.) A failed write changes nothing and answers Appwrite's 500 body.
 */
import { serverError } from './errors.js';

export class Faults {
  private writeFailureRate = 0;

  /** Fail this fraction (0–1) of REST presence writes; 0 turns it off. */
  failWrites(rate: number): void {
    this.writeFailureRate = rate;
  }

  /** Called first by every REST presence write. */
  maybeFailWrite(): void {
    if (this.writeFailureRate > 0 && Math.random() < this.writeFailureRate) throw serverError();
  }

  clear(): void {
    this.writeFailureRate = 0;
  }
}
