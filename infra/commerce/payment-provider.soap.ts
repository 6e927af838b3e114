/**
 * PaymentProvider over SOAP 1.1: the legacy provider's LegacyPaymentService (schemas/wsdl/payment.wsdl), spoken
 * with the `soap` package. Provider outcomes become PaymentResult values; transport trouble and faults become
 * DomainErrors, so commerce never sees SOAP.
 *
 * Wire rules this module relies on:
 * - SOAP 1.1 §6.2: a server that fails to process a request "MUST issue an HTTP 500 "Internal Server Error" response
 *   and include a SOAP message in the response containing a SOAP Fault element". So a 5xx carrying a Fault is the
 *   provider's answer (PAYMENT_PROVIDER_FAULT); a 5xx without one means the provider did not answer at all.
 * - W3C Trace Context §3.2: "version "-" trace-id "-" parent-id "-" trace-flags" (lowercase hex); and §3.2.2.1:
 *   "If the trace-id value is invalid (for example if it contains non-allowed characters or all zeros), vendors
 *   MUST ignore the traceparent". An invalid value is therefore dropped, never forwarded.
 */
import { fileURLToPath } from 'node:url';
import * as soap from 'soap';
import type { PaymentProvider, PaymentResult } from '../../domains/commerce/ports.ts';
import { DomainError } from '../../domains/shared/errors.ts';

export type PaymentRequest = Parameters<PaymentProvider['authorize']>[0];

/** Per-call context; optional, so the adapter still satisfies the PaymentProvider port. */
export interface AuthorizeContext {
  /** W3C traceparent of the caller's span, sent as the HTTP header of the same name. */
  readonly traceparent?: string;
}

export interface SoapPaymentProvider extends PaymentProvider {
  authorize(request: PaymentRequest, context?: AuthorizeContext): Promise<PaymentResult>;
}

export interface SoapPaymentProviderOptions {
  /** The SOAP endpoint (the WSDL's address is only a placeholder); a function is asked on the first call. */
  readonly url: string | (() => string);
  /** Local WSDL file; defaults to schemas/wsdl/payment.wsdl. */
  readonly wsdlPath?: string;
  /** Deadline for one whole call, connect to last byte. */
  readonly timeoutMs?: number;
}

const DEFAULT_WSDL_PATH = fileURLToPath(new URL('../../schemas/wsdl/payment.wsdl', import.meta.url));
const DEFAULT_TIMEOUT_MS = 2000;
const TRACEPARENT = /^[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

/** What `soap` rejects with: axios errors (`response` when an HTTP answer came) or parse errors (`root`). */
interface SoapCallError {
  message?: string;
  code?: string;
  response?: { status?: number };
  root?: { Envelope?: { Body?: { Fault?: Record<string, unknown> } } };
}

/** Reads `x` or `{ $value: x }`, the two shapes `soap` gives simple elements. */
function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && '$value' in value) return String(value.$value);
  return undefined;
}

function unavailable(message: string, cause: unknown): DomainError {
  return new DomainError('DEPENDENCY_UNAVAILABLE', `payment provider unavailable: ${message}`, {
    retryable: true,
    cause,
  });
}

/** Translates a failed call into the port's two error codes. */
function translateError(err: unknown, deadline: AbortSignal, timeoutMs: number): DomainError {
  if (deadline.aborted) return unavailable(`no answer within ${timeoutMs} ms`, err);
  const e = (typeof err === 'object' && err !== null ? err : {}) as SoapCallError;
  const fault = e.root?.Envelope?.Body?.Fault;
  if (fault) {
    const code = text(fault.faultcode) ?? 'unknown';
    const reason = text(fault.faultstring) ?? 'no faultstring';
    return new DomainError('PAYMENT_PROVIDER_FAULT', reason, { cause: err, details: { faultcode: code } });
  }
  const status = e.response?.status;
  if (status === undefined) return unavailable(e.code ?? e.message ?? 'no response', err);
  // 408 and 429 say "later"; any other 4xx without a Fault is a contract mismatch that retrying cannot fix.
  if (status >= 500 || status === 408 || status === 429) return unavailable(`HTTP ${status} without a SOAP fault`, err);
  return new DomainError('PAYMENT_PROVIDER_FAULT', `unexpected HTTP ${status} without a SOAP fault`, { cause: err });
}

/** Maps the AuthorizePaymentResponse element to the port's result; anything else is a contract breach. */
function toResult(body: unknown): PaymentResult {
  const r = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const status = text(r.status);
  const authorizationId = text(r.authorizationId);
  if (status === 'AUTHORIZED' && authorizationId) return { outcome: 'AUTHORIZED', authorizationId };
  if (status === 'DECLINED') return { outcome: 'DECLINED', reason: text(r.reason) ?? 'declined' };
  throw new DomainError('PAYMENT_PROVIDER_FAULT', `unexpected response: status ${String(status)}`, {
    details: { status },
  });
}

/** Creates the SOAP PaymentProvider; the client is built from the local WSDL on first use and then reused. */
export function createSoapPaymentProvider(opts: SoapPaymentProviderOptions): SoapPaymentProvider {
  const wsdlPath = opts.wsdlPath ?? DEFAULT_WSDL_PATH;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let client: Promise<soap.Client> | undefined;

  // From the file, not from ?wsdl: the adapter must start, and fail cleanly, while the provider is down.
  function getClient(): Promise<soap.Client> {
    client ??= soap
      .createClientAsync(wsdlPath, {}, typeof opts.url === 'function' ? opts.url() : opts.url)
      .catch((err: unknown) => {
        client = undefined; // a broken deployment may be fixed without a restart
        // Our own file, not the provider: neither retryable nor the provider's fault.
        throw new DomainError('INTERNAL', `payment WSDL ${wsdlPath} could not be loaded`, { cause: err });
      });
    return client;
  }

  return {
    async authorize(request: PaymentRequest, context: AuthorizeContext = {}): Promise<PaymentResult> {
      const c = await getClient();
      // Element order follows the WSDL's xsd:sequence; orderId lets the provider dedupe retries.
      const args = {
        orderId: request.orderId,
        amountCents: request.amountCents,
        currency: request.currency,
        paymentToken: request.paymentToken,
      };
      const headers =
        context.traceparent && TRACEPARENT.test(context.traceparent) ? { traceparent: context.traceparent } : {};
      // A hard deadline for the whole exchange; axios' own `timeout` only watches socket inactivity.
      const deadline = AbortSignal.timeout(timeoutMs);
      let body: unknown;
      try {
        [body] = (await c.AuthorizePaymentAsync(args, { signal: deadline }, headers)) as [unknown];
      } catch (err) {
        throw translateError(err, deadline, timeoutMs);
      }
      return toResult(body);
    },
  };
}
