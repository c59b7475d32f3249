/**
 * Reads named parameters through validators and turns failures into Appwrite's two wordings:
 * REST ``Param "x" is not optional.`` / ``Invalid `x` param: …`` (400 general_argument_invalid) and
 * realtime `Payload is not valid. X is required` / `x: …` (1003). A null value counts as absent,
 * as in utopia, so optional parameters fall back to their defaults.
 */
import { argumentInvalid, RealtimeError } from './errors.js';
import type { Validator } from './validators.js';

interface Failures {
  missing(name: string): Error;
  invalid(name: string, description: string): Error;
}

const restFailures: Failures = {
  missing: (name) => argumentInvalid(`Param "${name}" is not optional.`),
  invalid: (name, description) => argumentInvalid(`Invalid \`${name}\` param: ${description}`),
};

const realtimeFailures: Failures = {
  missing: (name) => new RealtimeError(1003, `Payload is not valid. ${name[0]!.toUpperCase()}${name.slice(1)} is required`),
  invalid: (name, description) => new RealtimeError(1003, `${name}: ${description}`),
};

export class Params {
  private constructor(
    private readonly values: Record<string, unknown>,
    private readonly failures: Failures,
  ) {}

  static rest(values: Record<string, unknown>): Params {
    return new Params(values, restFailures);
  }

  static realtime(values: Record<string, unknown>): Params {
    return new Params(values, realtimeFailures);
  }

  has(name: string): boolean {
    return Object.hasOwn(this.values, name) && this.values[name] !== null && this.values[name] !== undefined;
  }

  /** The raw value, unvalidated (realtime `metadata` skips validation on the real server too). */
  raw(name: string): unknown {
    return this.has(name) ? this.values[name] : undefined;
  }

  required<T>(name: string, validator: Validator<T>): T {
    if (!this.has(name)) throw this.failures.missing(name);
    return this.check(name, validator);
  }

  optional<T>(name: string, validator: Validator<T>): T | undefined {
    return this.has(name) ? this.check(name, validator) : undefined;
  }

  private check<T>(name: string, validator: Validator<T>): T {
    const parsed = validator.parse(this.values[name]);
    if (!parsed.ok) throw this.failures.invalid(name, parsed.description);
    return parsed.value;
  }
}
