/** Integration: the SOAP PaymentProvider adapter against the real simulated provider, over real HTTP. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import type { ErrorCode } from '../../domains/shared/errors.ts';
import { isDomainError } from '../../domains/shared/errors.ts';
import { createSoapPaymentProvider, type PaymentRequest } from '../../infra/commerce/payment-provider.soap.ts';
import { type RunningPaymentProvider, startPaymentProvider } from './server.ts';

const TIMEOUT_MS = 400;

function paymentRequest(overrides: Partial<PaymentRequest> = {}): PaymentRequest {
  return {
    orderId: `order-${randomUUID()}`,
    amountCents: 1250,
    currency: 'EUR',
    paymentToken: 'tok_visa',
    ...overrides,
  };
}

/** Asserts a rejection with a DomainError of this code and retryability; returns the error's message. */
async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, retryable: boolean): Promise<string> {
  let message = '';
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isDomainError(err), `not a DomainError: ${String(err)}`);
    assert.deepEqual([err.code, err.retryable], [code, retryable], err.message);
    assert.ok(err.cause !== undefined, 'the cause is kept');
    message = err.message;
    return true;
  });
  return message;
}

/** A pass-through HTTP proxy in front of the provider that records the traceparent header each request carried. */
async function startRecordingProxy(
  target: string,
): Promise<{ url: string; seen: Array<string | undefined>; close(): Promise<void> }> {
  const seen: Array<string | undefined> = [];
  const server = http.createServer(async (req, res) => {
    seen.push(req.headers.traceparent as string | undefined);
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
    const upstream = await fetch(target, {
      method: 'POST',
      headers: {
        'content-type': req.headers['content-type'] ?? 'text/xml',
        soapaction: String(req.headers.soapaction ?? ''),
      },
      body: Buffer.concat(chunks),
    });
    res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'text/xml' });
    res.end(await upstream.text());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/soap/payment`,
    seen,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

describe('SOAP PaymentProvider adapter (real provider)', () => {
  let provider: RunningPaymentProvider;
  let adapter: ReturnType<typeof createSoapPaymentProvider>;
  before(async () => {
    provider = await startPaymentProvider({ port: 0 });
    adapter = createSoapPaymentProvider({ url: provider.url, timeoutMs: TIMEOUT_MS });
  });
  afterEach(() => provider.setBehaviour({ mode: 'normal' }));
  after(() => provider.stop());

  it('maps AUTHORIZED to an authorization id', async () => {
    const result = await adapter.authorize(paymentRequest());
    assert.equal(result.outcome, 'AUTHORIZED');
    assert.match(result.outcome === 'AUTHORIZED' ? result.authorizationId : '', /^auth_[0-9a-f-]{36}$/);
  });

  const declines: Array<[token: string, reason: string]> = [
    ['tok_decline', 'card declined'],
    ['tok_decline_amex', 'card declined'],
    ['tok_insufficient', 'insufficient funds'],
  ];
  for (const [paymentToken, reason] of declines) {
    it(`maps ${paymentToken} to DECLINED "${reason}"`, async () => {
      assert.deepEqual(await adapter.authorize(paymentRequest({ paymentToken })), { outcome: 'DECLINED', reason });
    });
  }

  it('turns a Server fault (tok_fault) into PAYMENT_PROVIDER_FAULT, not retryable', async () => {
    const message = await rejectsWith(
      adapter.authorize(paymentRequest({ paymentToken: 'tok_fault' })),
      'PAYMENT_PROVIDER_FAULT',
      false,
    );
    assert.equal(message, 'provider internal error');
  });

  it('turns a Client fault (bad amount) into PAYMENT_PROVIDER_FAULT naming the field', async () => {
    const message = await rejectsWith(
      adapter.authorize(paymentRequest({ amountCents: 12.5 })),
      'PAYMENT_PROVIDER_FAULT',
      false,
    );
    assert.match(message, /^amountCents /);
  });

  it("turns mode 'fault' into PAYMENT_PROVIDER_FAULT", async () => {
    provider.setBehaviour({ mode: 'fault' });
    await rejectsWith(adapter.authorize(paymentRequest()), 'PAYMENT_PROVIDER_FAULT', false);
  });

  it("turns mode 'down' (HTTP 503, no SOAP body) into DEPENDENCY_UNAVAILABLE, retryable", async () => {
    provider.setBehaviour({ mode: 'down' });
    const message = await rejectsWith(adapter.authorize(paymentRequest()), 'DEPENDENCY_UNAVAILABLE', true);
    assert.match(message, /503/);
  });

  it("gives up on mode 'slow' at the timeout with DEPENDENCY_UNAVAILABLE", async () => {
    provider.setBehaviour({ mode: 'slow', delayMs: 2000 });
    const started = performance.now();
    await rejectsWith(adapter.authorize(paymentRequest()), 'DEPENDENCY_UNAVAILABLE', true);
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= TIMEOUT_MS - 10 && elapsed < 1500, `gave up after ${Math.round(elapsed)} ms`);
  });

  it('gives up on tok_slow (3000 ms) at the timeout with DEPENDENCY_UNAVAILABLE', async () => {
    await rejectsWith(adapter.authorize(paymentRequest({ paymentToken: 'tok_slow' })), 'DEPENDENCY_UNAVAILABLE', true);
  });

  it('forwards a valid traceparent as an HTTP header and drops an invalid one', async () => {
    const proxy = await startRecordingProxy(provider.url);
    try {
      const traced = createSoapPaymentProvider({ url: proxy.url, timeoutMs: TIMEOUT_MS });
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      assert.equal((await traced.authorize(paymentRequest(), { traceparent })).outcome, 'AUTHORIZED');
      await traced.authorize(paymentRequest(), {
        traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      });
      await traced.authorize(paymentRequest());
      assert.deepEqual(proxy.seen, [traceparent, undefined, undefined]);
    } finally {
      await proxy.close();
    }
  });
});

describe('SOAP PaymentProvider adapter, provider stopped', () => {
  it('starts from the local WSDL and answers DEPENDENCY_UNAVAILABLE, retryable', async () => {
    const provider = await startPaymentProvider({ port: 0 });
    await provider.stop();
    // The first call builds the client while nothing listens: it must come from the file, not from ?wsdl.
    const adapter = createSoapPaymentProvider({ url: provider.url });
    const message = await rejectsWith(adapter.authorize(paymentRequest()), 'DEPENDENCY_UNAVAILABLE', true);
    assert.match(message, /ECONNREFUSED/);
  });

  it('reports a missing WSDL file as INTERNAL, not as the provider being down', async () => {
    const adapter = createSoapPaymentProvider({
      url: 'http://127.0.0.1:9/soap/payment',
      wsdlPath: '/nonexistent.wsdl',
    });
    await rejectsWith(adapter.authorize(paymentRequest()), 'INTERNAL', false);
  });
});

describe('SOAP PaymentProvider adapter, idempotency', () => {
  let provider: RunningPaymentProvider;
  before(async () => {
    provider = await startPaymentProvider({ port: 0 });
  });
  after(() => provider.stop());

  it('gets the same authorization id for the same orderId, authorized once', async () => {
    const adapter = createSoapPaymentProvider({ url: provider.url });
    const request = paymentRequest();
    const first = await adapter.authorize(request);
    const second = await adapter.authorize(request);
    assert.equal(first.outcome, 'AUTHORIZED');
    assert.deepEqual(second, first);
    assert.deepEqual(provider.stats(), { calls: 2, authorizations: 1 });
  });
});
