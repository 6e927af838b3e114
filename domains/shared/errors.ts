/**
 * Domain errors: a code from a closed union, a retryable flag (retry versus
 * dead-letter), and the cause. Boundaries map codes to GraphQL extensions.code,
 * HTTP problem+json, MQTT reason codes and SOAP faults.
 */
export const ERROR_CODES = [
  'BAD_USER_INPUT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'PRODUCT_NOT_FOUND',
  'ORDER_NOT_FOUND',
  'ROOM_NOT_FOUND',
  'USER_NOT_FOUND',
  'POST_NOT_FOUND',
  'INSUFFICIENT_STOCK',
  'IDEMPOTENCY_KEY_REQUIRED',
  'IDEMPOTENCY_KEY_REUSED',
  'INVALID_TRANSITION',
  'CONFLICT',
  'PAYMENT_DECLINED',
  'PAYMENT_PROVIDER_FAULT',
  'DEVICE_NOT_FOUND',
  'DEVICE_ALREADY_EXISTS',
  'DEVICE_REVOKED',
  'ROLLOUT_NOT_FOUND',
  'RATE_LIMITED',
  'DEPENDENCY_UNAVAILABLE',
  'INVALID_EVENT',
  'WRITER_MOVED',
  'WRITER_CONFLICT',
  'URL_NOT_ALLOWED',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class DomainError extends Error {
  readonly code: ErrorCode;
  /** True when the same call may succeed later (timeouts, a dependency down). */
  readonly retryable: boolean;
  /** Extra, client-safe facts (which product, which field). */
  readonly details: Readonly<Record<string, unknown>>;
  constructor(
    code: ErrorCode,
    message: string,
    opts: { retryable?: boolean; cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = 'DomainError';
    this.code = code;
    this.retryable = opts.retryable ?? false;
    this.details = opts.details ?? {};
  }
}

export function isDomainError(err: unknown, code?: ErrorCode): err is DomainError {
  return err instanceof DomainError && (code === undefined || err.code === code);
}
