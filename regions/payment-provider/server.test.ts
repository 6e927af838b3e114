/** Integration: the simulated legacy payment provider over real HTTP, spoken to with raw SOAP 1.1 envelopes. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';
import { type ProviderBehaviour, type RunningPaymentProvider, startPaymentProvider } from './server.ts';

const NS = 'urn:meridian:legacy-payment:v1';

interface Fields {
  orderId: string;
  amountCents: string | number;
  currency: string;
  paymentToken: string;
}

function fields(overrides: Partial<Fields> = {}): Fields {
  return {
    orderId: `order-${randomUUID()}`,
    amountCents: 1250,
    currency: 'EUR',
    paymentToken: 'tok_visa',
    ...overrides,
  };
}

function envelope(f: Fields): string {
  const children = Object.entries(f)
    .map(([name, value]) => `<p:${name}>${value}</p:${name}>`)
    .join('');
  return (
    '<?xml version="1.0" encoding="utf-8"?>' +
    `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:p="${NS}">` +
    `<soap:Body><p:AuthorizePayment>${children}</p:AuthorizePayment></soap:Body></soap:Envelope>`
  );
}

/** The text of the first element with this local name, whatever its prefix. */
function element(xml: string, name: string): string | undefined {
  return new RegExp(`<(?:[\\w-]+:)?${name}(?:\\s[^>]*)?>([^<]*)</`).exec(xml)?.[1];
}

async function call(provider: RunningPaymentProvider, f: Fields): Promise<{ status: number; xml: string }> {
  const res = await fetch(provider.url, {
    method: 'POST',
    headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: `"${NS}#AuthorizePayment"` },
    body: envelope(f),
  });
  return { status: res.status, xml: await res.text() };
}

function adminUrl(provider: RunningPaymentProvider, path: string): string {
  return new URL(path, provider.url).href;
}

async function setMode(provider: RunningPaymentProvider, body: unknown): Promise<Response> {
  return fetch(adminUrl(provider, '/admin/behaviour'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

describe('legacy payment provider (SOAP over HTTP)', () => {
  let provider: RunningPaymentProvider;
  before(async () => {
    provider = await startPaymentProvider({ port: 0 });
  });
  afterEach(() => provider.setBehaviour({ mode: 'normal' }));
  after(() => provider.stop());

  it('serves its WSDL at ?wsdl', async () => {
    const res = await fetch(provider.wsdlUrl);
    assert.equal(res.status, 200);
    const wsdl = await res.text();
    assert.match(wsdl, /targetNamespace="urn:meridian:legacy-payment:v1"/);
    assert.match(wsdl, /<operation name="AuthorizePayment">/);
  });

  it('authorizes a valid request with HTTP 200 and a SOAP response element', async () => {
    const { status, xml } = await call(provider, fields());
    assert.equal(status, 200, xml);
    assert.match(xml, /<AuthorizePaymentResponse xmlns="urn:meridian:legacy-payment:v1">/);
    assert.equal(element(xml, 'status'), 'AUTHORIZED');
    assert.match(element(xml, 'authorizationId') ?? '', /^auth_[0-9a-f-]{36}$/);
    assert.equal(element(xml, 'reason'), undefined);
  });

  const invalid: Array<[field: string, label: string, override: Partial<Fields>]> = [
    ['orderId', 'empty', { orderId: '' }],
    ['amountCents', '0', { amountCents: 0 }],
    ['amountCents', '-5', { amountCents: -5 }],
    // `soap` would parseInt these two to 12; the provider must refuse them instead.
    ['amountCents', '12.5', { amountCents: '12.5' }],
    ['amountCents', '12abc', { amountCents: '12abc' }],
    ['currency', 'eur', { currency: 'eur' }],
    ['currency', 'EURO', { currency: 'EURO' }],
    ['paymentToken', 'visa', { paymentToken: 'visa' }],
    ['paymentToken', 'tok_ + 65 chars', { paymentToken: `tok_${'a'.repeat(65)}` }],
  ];
  for (const [field, label, override] of invalid) {
    it(`refuses ${field} ${label} with a Client fault and HTTP 500`, async () => {
      const prior = provider.stats();
      const { status, xml } = await call(provider, fields(override));
      assert.equal(status, 500, 'SOAP 1.1 §6.2: faults travel with HTTP 500');
      assert.match(xml, /<soap:Fault>/);
      assert.equal(element(xml, 'faultcode'), 'soap:Client');
      assert.match(element(xml, 'faultstring') ?? '', new RegExp(`^${field} `));
      assert.deepEqual(provider.stats(), { calls: prior.calls + 1, authorizations: prior.authorizations });
    });
  }

  it('declines by token with the reason', async () => {
    const declined = await call(provider, fields({ paymentToken: 'tok_decline_visa' }));
    assert.equal(declined.status, 200);
    assert.deepEqual([element(declined.xml, 'status'), element(declined.xml, 'reason')], ['DECLINED', 'card declined']);
    assert.equal(element(declined.xml, 'authorizationId'), undefined);
    const poor = await call(provider, fields({ paymentToken: 'tok_insufficient' }));
    assert.deepEqual([element(poor.xml, 'status'), element(poor.xml, 'reason')], ['DECLINED', 'insufficient funds']);
  });

  it('answers tok_fault with a Server fault', async () => {
    const { status, xml } = await call(provider, fields({ paymentToken: 'tok_fault' }));
    assert.equal(status, 500);
    assert.equal(element(xml, 'faultcode'), 'soap:Server');
    assert.equal(element(xml, 'faultstring'), 'provider internal error');
  });

  it('is idempotent by orderId: same decision and authorizationId, counted once', async () => {
    const prior = provider.stats();
    const first = fields();
    const a = await call(provider, first);
    const b = await call(provider, first);
    // Even a token that would decline gets the order's first decision.
    const c = await call(provider, { ...first, paymentToken: 'tok_decline' });
    const ids = [a, b, c].map((r) => element(r.xml, 'authorizationId'));
    assert.ok(ids[0]);
    assert.deepEqual(ids, [ids[0], ids[0], ids[0]]);
    assert.equal(element(c.xml, 'status'), 'AUTHORIZED');
    assert.deepEqual(provider.stats(), { calls: prior.calls + 3, authorizations: prior.authorizations + 1 });
  });

  it('GET /admin/stats reports the counters', async () => {
    await call(provider, fields());
    const res = await fetch(adminUrl(provider, '/admin/stats'));
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), provider.stats());
  });

  it("POST /admin/behaviour 'fault' makes every call a Server fault, 'normal' resets", async () => {
    const res = await setMode(provider, { mode: 'fault' });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { mode: 'fault' });
    const faulted = await call(provider, fields());
    assert.equal(faulted.status, 500);
    assert.equal(element(faulted.xml, 'faultcode'), 'soap:Server');
    assert.equal((await setMode(provider, { mode: 'normal' })).status, 200);
    assert.equal(element((await call(provider, fields())).xml, 'status'), 'AUTHORIZED');
  });

  it("POST /admin/behaviour 'slow' delays every answer by delayMs", async () => {
    assert.equal((await setMode(provider, { mode: 'slow', delayMs: 400 })).status, 200);
    const started = performance.now();
    const { xml } = await call(provider, fields());
    assert.ok(performance.now() - started >= 390, 'answered before the delay');
    assert.equal(element(xml, 'status'), 'AUTHORIZED');
  });

  it('POST /admin/behaviour refuses a bad body with problem+json and keeps the mode', async () => {
    for (const body of [{ mode: 'sideways' }, { mode: 'slow', delayMs: -1 }, 'slow']) {
      const res = await setMode(provider, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.headers.get('content-type'), 'application/problem+json');
    }
    assert.deepEqual(await (await fetch(adminUrl(provider, '/admin/behaviour'))).json(), { mode: 'normal' });
  });

  it("'down' answers 503 with no SOAP body, while /admin stays reachable", async () => {
    assert.equal((await setMode(provider, { mode: 'down' })).status, 200);
    const prior = provider.stats();
    const { status, xml } = await call(provider, fields());
    assert.equal(status, 503);
    assert.equal(xml, '');
    assert.equal((await fetch(provider.wsdlUrl)).status, 503);
    assert.equal((await fetch(adminUrl(provider, '/admin/stats'))).status, 200);
    assert.deepEqual(provider.stats(), prior, 'an outage never reaches the service');
    assert.equal((await setMode(provider, { mode: 'normal' })).status, 200);
    assert.equal((await call(provider, fields())).status, 200);
  });

  it('answers tok_slow normally after 3000 ms', async () => {
    const started = performance.now();
    const { status, xml } = await call(provider, fields({ paymentToken: 'tok_slow' }));
    assert.ok(performance.now() - started >= 2990, 'answered before 3000 ms');
    assert.equal(status, 200);
    assert.equal(element(xml, 'status'), 'AUTHORIZED');
  });

  it('setBehaviour refuses an unknown mode', () => {
    assert.throws(() => provider.setBehaviour(JSON.parse('{"mode":"broken"}') as ProviderBehaviour), TypeError);
  });
});

describe('legacy payment provider stop()', () => {
  it('closes promptly, dropping a call in flight', async () => {
    const provider = await startPaymentProvider({ port: 0 });
    try {
      const inFlight = call(provider, fields({ paymentToken: 'tok_slow' }));
      await new Promise((resolve) => setTimeout(resolve, 100));
      const started = performance.now();
      await provider.stop();
      assert.ok(performance.now() - started < 1000, 'stop() waited for the slow call');
      await assert.rejects(inFlight);
      await assert.rejects(fetch(provider.wsdlUrl));
    } finally {
      await provider.stop();
    }
  });
});
