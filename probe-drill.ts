import { startCluster } from './regions/drill/cluster.ts';
const c = await startCluster({ log: console.log });
const ops = { authorization: 'Bearer dev-ops-token', 'content-type': 'application/json' };
const put = async (region: string) => (await fetch(`${c.edges[0]!.url}/ops/writer`, { method: 'PUT', headers: ops, body: JSON.stringify({ region }) })).json();
console.log(JSON.stringify(await put('west')));
await new Promise((r) => setTimeout(r, 3000));
for (const r of ['east', 'west'] as const) {
  const ready = await (await fetch(`${c.regions[r].gatewayUrl}/ready`)).json() as { services: Record<string, unknown> };
  console.log(r, JSON.stringify(ready.services['commerce.payment-processor']));
}
const tok = ((await (await fetch(`${c.regions.west.gatewayUrl}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sub: 'u1', tenant: 'probe', scopes: ['orders:write'] }) })).json()) as { access_token: string }).access_token;
const res = await fetch(`${c.edges[0]!.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tok}` }, body: JSON.stringify({ query: 'mutation { placeOrder(input: { items: [{ productId: "p-cable", quantity: 1 }], idempotencyKey: "' + crypto.randomUUID() + '", paymentToken: "tok_visa" }) { id status } }' }) });
const body = await res.json() as { data: { placeOrder: { id: string } } };
console.log(res.headers.get('x-meridian-region'), JSON.stringify(body));
await new Promise((r) => setTimeout(r, 4000));
const o = await fetch(`${c.edges[0]!.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tok}` }, body: JSON.stringify({ query: `{ order(id: "${body.data.placeOrder.id}") { status } }` }) });
console.log(JSON.stringify(await o.json()));
console.log(JSON.stringify(await put('east')));
await c.stop();
