/**
 * The partner SOAP gateway over real HTTP on loopback, with its ports faked (commerce is exercised
 * for real by e2e/partners.int.test.ts). Hostile XML is sent as real requests.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as soap from 'soap';
import type { LegacyPartner } from '../../domains/partners/legacy-partner.ts';
import { DomainError } from '../../domains/shared/errors.ts';
import { PARTNER_WSDL, type RunningSoapBridge, startSoapBridge } from './server.ts';

const ORDER = '0b5e6a1e-8d2c-4f6a-9a51-3c1f2d4e5a6b';
const partner = (id: string, tenant: string): LegacyPartner => ({
  id,
  tenant,
  name: `Partner of ${tenant}`,
  status: 'ACTIVE',
  ratePerSecond: 10,
  maxQueued: 10,
  inboundEventTypes: [],
  passwordHash: 'x',
  createdAt: '2030-01-01T00:00:00Z',
  updatedAt: '2030-01-01T00:00:00Z',
});
const P1 = partner(`lp_${'1'.repeat(32)}`, 't1');
const P2 = partner(`lp_${'2'.repeat(32)}`, 't2');
const PASSWORDS = new Map([
  [P1.id, 'pw-one'],
  [P2.id, 'pw-two'],
]);

const envelope = (body: string, header = '') =>
  `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:p="urn:meridian:partner-gateway:v1"><soap:Header>${header}</soap:Header><soap:Body>${body}</soap:Body></soap:Envelope>`;
const usernameToken = (user: string, pw: string, type = 'PasswordText') =>
  `<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><wsse:UsernameToken><wsse:Username>${user}</wsse:Username><wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#${type}">${pw}</wsse:Password></wsse:UsernameToken></wsse:Security>`;
const updateStock = (delta: string) =>
  `<p:UpdateStock><p:updateId>u-1</p:updateId><p:productId>p-mouse</p:productId><p:quantityDelta>${delta}</p:quantityDelta></p:UpdateStock>`;
const basic = (user: string, pw: string) => `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;

describe('partner SOAP gateway', () => {
  let bridge: RunningSoapBridge;
  const adjustments: unknown[] = [];
  before(async () => {
    bridge = await startSoapBridge(
      { port: 0 },
      {
        async authenticate(username, password) {
          const p = [P1, P2].find((x) => x.id === username);
          if (!p || PASSWORDS.get(p.id) !== password)
            throw new DomainError('UNAUTHENTICATED', 'unknown partner or wrong password');
          return p;
        },
        stock: {
          async adjust(r) {
            adjustments.push(r);
            if (r.delta < -5) {
              throw new DomainError('INSUFFICIENT_STOCK', 'only 5 left', { details: { productId: r.productId } });
            }
            return { productId: r.productId, available: 5 + r.delta, applied: true };
          },
        },
        orders: {
          async orderStatus(orderId) {
            return orderId === ORDER
              ? { orderId, tenant: 't1', status: 'CONFIRMED', updatedAt: '2030-01-01T00:00:00.000Z' }
              : undefined;
          },
        },
      },
    );
  });
  after(() => bridge.stop());

  async function post(body: string, headers: Record<string, string> = {}) {
    const res = await fetch(bridge.url, { method: 'POST', headers: { 'content-type': 'text/xml', ...headers }, body });
    return { status: res.status, text: await res.text(), headers: res.headers };
  }
  const code = (text: string) => /<code>([^<]+)<\/code>/.exec(text)?.[1];
  const faultcode = (text: string) => /<faultcode>([^<]+)<\/faultcode>/.exec(text)?.[1];

  it('a WS-Security UsernameToken authenticates; the stock update goes to commerce as the partner', async () => {
    const before = adjustments.length;
    const r = await post(envelope(updateStock('3'), usernameToken(P1.id, 'pw-one')));
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /<available>8<\/available><applied>true<\/applied>/);
    assert.deepEqual(adjustments.slice(before), [
      {
        adjustmentId: `${P1.id}:u-1`,
        tenant: 't1',
        productId: 'p-mouse',
        delta: 3,
        reason: 'stock update from partner Partner of t1',
      },
    ]);
  });

  it('HTTP Basic authenticates too; a client built from the WSDL works with either', async () => {
    const r = await post(envelope(`<p:GetOrderStatus><p:orderId>${ORDER}</p:orderId></p:GetOrderStatus>`), {
      authorization: basic(P1.id, 'pw-one'),
    });
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /<status>CONFIRMED<\/status>/);

    const client = await soap.createClientAsync(PARTNER_WSDL, {}, bridge.url);
    client.setSecurity(new soap.WSSecurity(P1.id, 'pw-one', { passwordType: 'PasswordText', hasTimeStamp: false }));
    const [answer] = (await client.GetOrderStatusAsync({ orderId: ORDER })) as [{ status: string }];
    assert.equal(answer.status, 'CONFIRMED');
    client.setSecurity(new soap.BasicAuthSecurity(P1.id, 'pw-one'));
    const [stock] = (await client.UpdateStockAsync({ updateId: 'u-2', productId: 'p-mouse', quantityDelta: 1 })) as [
      { available: number },
    ];
    assert.equal(stock.available, 6);
  });

  it('no, wrong or digest credentials: 401 with an UNAUTHENTICATED client fault, nothing done', async () => {
    const before = adjustments.length;
    for (const [body, headers] of [
      [envelope(updateStock('1')), {}],
      [envelope(updateStock('1'), usernameToken(P1.id, 'wrong')), {}],
      [envelope(updateStock('1'), usernameToken(P1.id, 'pw-one', 'PasswordDigest')), {}],
      [envelope(updateStock('1')), { authorization: basic(P1.id, 'pw-two') }],
      [envelope(updateStock('1')), { authorization: 'Bearer abc' }],
    ] as Array<[string, Record<string, string>]>) {
      const r = await post(body, headers);
      assert.equal(r.status, 401, r.text);
      assert.equal(faultcode(r.text), 'soap:Client');
      assert.equal(code(r.text), 'UNAUTHENTICATED');
      assert.match(r.headers.get('www-authenticate') ?? '', /^Basic/);
    }
    assert.equal(adjustments.length, before);
  });

  it('an order of another tenant is not found for this partner (the same order id)', async () => {
    const r = await post(envelope(`<p:GetOrderStatus><p:orderId>${ORDER}</p:orderId></p:GetOrderStatus>`), {
      authorization: basic(P2.id, 'pw-two'),
    });
    assert.equal(r.status, 500);
    assert.deepEqual([faultcode(r.text), code(r.text)], ['soap:Client', 'ORDER_NOT_FOUND']);
  });

  it('bad input and commerce refusals are client faults with their codes and fields', async () => {
    const auth = { authorization: basic(P1.id, 'pw-one') };
    const half = await post(envelope(updateStock('1.5')), auth);
    assert.deepEqual([half.status, faultcode(half.text), code(half.text)], [500, 'soap:Client', 'BAD_USER_INPUT']);
    assert.match(half.text, /<field>quantityDelta<\/field>/);
    const short = await post(envelope(updateStock('-9')), auth);
    assert.deepEqual([faultcode(short.text), code(short.text)], ['soap:Client', 'INSUFFICIENT_STOCK']);
    const broken = await post('<soap:Envelope><unclosed>', auth);
    assert.deepEqual(
      [broken.status, faultcode(broken.text), code(broken.text)],
      [500, 'soap:Client', 'BAD_USER_INPUT'],
    );
  });

  it('DOCTYPE, external entity and billion-laughs requests get an XML_FORBIDDEN fault and change nothing', async () => {
    const before = adjustments.length;
    const auth = { authorization: basic(P1.id, 'pw-one') };
    const xxe = `<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>${envelope(updateStock('&xxe;')).replace(/^<\?xml[^>]*>/, '')}`;
    const laughs =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">' +
      '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol9 "&lol3;&lol3;&lol3;">]>' +
      envelope(
        '<p:UpdateStock><p:updateId>&lol9;</p:updateId><p:productId>p-mouse</p:productId><p:quantityDelta>1</p:quantityDelta></p:UpdateStock>',
      ).replace(/^<\?xml[^>]*>/, '');
    const plainDoctype = `<!DOCTYPE soap:Envelope>${envelope(updateStock('1'), usernameToken(P1.id, 'pw-one'))}`;
    for (const body of [xxe, laughs, plainDoctype]) {
      const r = await post(body, auth);
      assert.equal(r.status, 500, r.text);
      assert.deepEqual([faultcode(r.text), code(r.text)], ['soap:Client', 'XML_FORBIDDEN']);
      assert.doesNotMatch(r.text, /root:|lollol/);
    }
    assert.equal(adjustments.length, before, 'nothing reached commerce');
  });

  it('an oversized request is refused with PAYLOAD_TOO_LARGE; the WSDL is served at ?wsdl', async () => {
    const r = await post(
      envelope(`<p:GetOrderStatus><p:orderId>${'x'.repeat(70_000)}</p:orderId></p:GetOrderStatus>`),
      {
        authorization: basic(P1.id, 'pw-one'),
      },
    );
    assert.deepEqual([r.status, code(r.text)], [413, 'PAYLOAD_TOO_LARGE']);
    const wsdl = await fetch(`${bridge.url}?wsdl`);
    assert.match(await wsdl.text(), /PartnerGatewayService/);
  });
});
