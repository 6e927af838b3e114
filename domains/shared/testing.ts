/** Test helpers shared by every domain's tests (no test-runner import: usable from any test file). */
import { type ErrorCode, isDomainError } from './errors.ts';

/** A validator for `assert.rejects`/`assert.throws`: a DomainError with `code` (and exactly `details`, when given). */
export function rejectsWith(code: ErrorCode, details?: Record<string, unknown>): (err: unknown) => true {
  return (err: unknown) => {
    if (!isDomainError(err)) throw new Error(`expected a DomainError, got ${String(err)}`);
    if (err.code !== code) throw new Error(`expected ${code}, got ${err.code}: ${err.message}`);
    if (details !== undefined && JSON.stringify(err.details) !== JSON.stringify(details)) {
      throw new Error(`expected details ${JSON.stringify(details)}, got ${JSON.stringify(err.details)}`);
    }
    return true;
  };
}
