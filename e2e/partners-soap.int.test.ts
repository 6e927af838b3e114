/**
 * The partner SOAP gateway end to end, east: partners registered through the graph call it with
 * their own credentials; a stock update goes through commerce's inventory gRPC service (commerce's
 * rules, commerce's event) into Postgres; an order placed through the gateway is readable by a
 * partner of its tenant only; hostile XML changes nothing.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import * as soap from 'soap';
import { PARTNER_WSDL } from '../bridges/soap/server.ts';
import { PLACE_ORDER } from './support/graphql-client.ts';
import { type PartnersRegion, startPartnersRegion, tenantName } from './support/partners.ts';

interface Creds {
  username: string;
  password: string;
}

describe('partner SOAP gateway end to end (east)', () => {
  let p: PartnersRegion;
  let url: string;
  let productId: string;
  const [ta, tb] = [tenantName('soap'), tenantName('soap')];
  let a: Creds;
  let b: Creds;

  const stock = async () =>
    (await p.db.postgres.pool.query<{ stock: number }>('SELECT stock FROM products WHERE id = $1', [productId])).rows[0]
      ?.stock;
  const adjustedEvents = async () =>
    (
      await p.db.postgres.pool.query<{ envelope: { tenant: string; data: { adjustmentId: string; delta: number } } }>(
        "SELECT envelope FROM outbox WHERE topic = 'commerce.inventory.adjusted.v1' AND aggregate_id = $1 ORDER BY seq",
        [productId],
      )
    ).rows.map((r) => r.envelope);

  async function register(tenant: string): Promise<Creds> {
    const res = await p.call<{ registerLegacyPartner: Creds }>(
      tenant,
      'mutation { registerLegacyPartner(input: { name: "Warehouse" }) { username password } }',
    );
    return res.data?.registerLegacyPartner ?? assert.fail(JSON.stringify(res.errors));
  }

  async function client(c: Creds, via: 'wsse' | 'basic' = 'wsse') {
    const cl = await soap.createClientAsync(PARTNER_WSDL, {}, url);
    cl.setSecurity(
      via === 'wsse'
        ? new soap.WSSecurity(c.username, c.password, { passwordType: 'PasswordText', hasTimeStamp: false })
        : new soap.BasicAuthSecurity(c.username, c.password),
    );
    return cl;
  }

  const faultCode = (err: unknown) =>
    (err as { root?: { Envelope?: { Body?: { Fault?: { detail?: { PartnerFault?: { code?: string } } } } } } }).root
      ?.Envelope?.Body?.Fault?.detail?.PartnerFault?.code;

  before(async () => {
    p = await startPartnersRegion('partners_soap');
    url = p.handle.soapUrl() ?? assert.fail('the SOAP gateway runs');
    productId = `p-zz-soap-${randomUUID().slice(0, 8)}`;
    await p.db.postgres.pool.query(
      "INSERT INTO products (id, sku, name, price_cents, currency, stock) VALUES ($1, $1, $1, 700, 'USD', 10)",
      [productId],
    );
    [a, b] = [await register(ta), await register(tb)];
  });
  after(() => p?.stop());

  it('UpdateStock goes through commerce: applied once per update id, with commerce’s event in the partner’s tenant', async () => {
    const cl = await client(a);
    const [first] = (await cl.UpdateStockAsync({
      updateId: 'delivery-1',
      productId,
      quantityDelta: 5,
      reason: 'pallet in',
    })) as [Record<string, unknown>];
    assert.deepEqual(first, { productId, available: 15, applied: true });
    const [again] = (await cl.UpdateStockAsync({ updateId: 'delivery-1', productId, quantityDelta: 5 })) as [
      Record<string, unknown>,
    ];
    assert.deepEqual(again, { productId, available: 15, applied: false });
    assert.equal(await stock(), 15);
    const events = await adjustedEvents();
    assert.deepEqual(
      events.map((e) => [e.tenant, e.data.adjustmentId, e.data.delta]),
      [[ta, `${a.username}:delivery-1`, 5]],
    );
  });

  it('commerce’s rules answer as faults with codes: below zero, unknown product, bad input; nothing changes', async () => {
    const cl = await client(a, 'basic');
    for (const [args, code] of [
      [{ updateId: 'minus', productId, quantityDelta: -1000 }, 'INSUFFICIENT_STOCK'],
      [{ updateId: 'ghost', productId: 'p-zz-not-there', quantityDelta: 1 }, 'PRODUCT_NOT_FOUND'],
      [{ updateId: 'zero', productId, quantityDelta: 0 }, 'BAD_USER_INPUT'],
      [{ updateId: 'bad id!', productId, quantityDelta: 1 }, 'BAD_USER_INPUT'],
    ] as const) {
      await assert.rejects(cl.UpdateStockAsync(args), (err: unknown) => faultCode(err) === code, code);
    }
    assert.equal(await stock(), 15);
    assert.equal((await adjustedEvents()).length, 1);
  });

  it('GetOrderStatus reads an order of the partner’s tenant; a partner of another tenant gets ORDER_NOT_FOUND for it', async () => {
    const placed = await p.call<{ placeOrder: { id: string } }>(
      ta,
      PLACE_ORDER,
      { input: { items: [{ productId, quantity: 1 }], idempotencyKey: randomUUID(), paymentToken: 'tok_visa' } },
      await p.token(ta, 'buyer'),
    );
    const orderId = placed.data?.placeOrder.id ?? assert.fail(JSON.stringify(placed.errors));
    const [status] = (await (await client(a, 'basic')).GetOrderStatusAsync({ orderId })) as [
      { orderId: string; status: string },
    ];
    assert.equal(status.orderId, orderId);
    assert.match(status.status, /^(PENDING|CONFIRMED)$/);
    await assert.rejects(
      (await client(b)).GetOrderStatusAsync({ orderId }),
      (err: unknown) => faultCode(err) === 'ORDER_NOT_FOUND',
    );
  });

  it('DOCTYPE, external entities and billion laughs: a fault, and nothing changes', async () => {
    const auth = `Basic ${Buffer.from(`${a.username}:${a.password}`).toString('base64')}`;
    const body = (updateId: string) =>
      `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:p="urn:meridian:partner-gateway:v1"><soap:Body>` +
      `<p:UpdateStock><p:updateId>${updateId}</p:updateId><p:productId>${productId}</p:productId><p:quantityDelta>1</p:quantityDelta></p:UpdateStock>` +
      '</soap:Body></soap:Envelope>';
    const hostile = [
      `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/hostname">]>${body('&x;')}`,
      `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>${body('&d;')}`,
      `<!DOCTYPE soap:Envelope>${body('plain-doctype')}`,
    ];
    for (const xml of hostile) {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'text/xml', authorization: auth },
        body: xml,
      });
      const text = await res.text();
      assert.equal(res.status, 500);
      assert.match(text, /<faultcode>soap:Client<\/faultcode>.*<code>XML_FORBIDDEN<\/code>/s);
    }
    assert.equal(await stock(), 15 - 1 /* the order above reserved one */);
    assert.equal((await adjustedEvents()).length, 1);
  });

  it('a disabled partner is refused (401, UNAUTHENTICATED)', async () => {
    const c = await register(ta);
    const id = c.username;
    await p.call(ta, 'mutation($id: ID!) { disableLegacyPartner(id: $id) { id } }', { id });
    await assert.rejects(
      (await client(c)).GetOrderStatusAsync({ orderId: randomUUID() }),
      (err: unknown) => faultCode(err) === 'UNAUTHENTICATED',
    );
  });
});
