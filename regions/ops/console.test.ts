import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { consoleApp } from './console.ts';
import type { DrillRequest, DrillRunner, DrillState } from './drill-runner.ts';
import type { EventFeed, FeedEvent } from './event-feed.ts';

const TOKEN = 'unit-test-ops-token';

/** A feed the test pushes into (the real one reads Kafka: e2e/ops-console.int.test.ts). */
function fakeFeed() {
  const listeners = new Set<(e: FeedEvent) => void>();
  const feed: EventFeed = {
    name: 'event-feed',
    recent: () => [],
    listen(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    start: async () => {},
    stop: async () => {},
  };
  const push = (type: string, n: number) => {
    for (let i = 0; i < n; i++)
      for (const l of listeners)
        l({ region: 'east', topic: type, partition: 0, offset: String(i), type, id: `${type}-${i}` });
  };
  return { feed, push, listeners };
}

function fakeDrills(): DrillRunner & { started: DrillRequest[] } {
  const started: DrillRequest[] = [];
  let state: DrillState | undefined;
  return {
    started,
    start(request) {
      if (state?.running) return undefined;
      started.push(request);
      state = { id: 'd1', request, startedAt: new Date().toISOString(), running: true, lines: [] };
      return state;
    },
    current: () => state,
    stop: async () => {},
  };
}

function app(extra: { eventsPerSecond?: number } = {}) {
  const f = fakeFeed();
  const drills = fakeDrills();
  return { f, drills, app: consoleApp({ token: TOKEN, regions: [], feed: f.feed, drills, ...extra }) };
}

const bearer = { authorization: `Bearer ${TOKEN}` };

describe('ops console (unit)', () => {
  it('signs in with the token only, into an HttpOnly SameSite=Strict session', async () => {
    const { app: a } = app();
    assert.equal((await a.request('/api/status')).status, 401);
    assert.equal((await a.request('/api/status', { headers: { authorization: 'Bearer wrong' } })).status, 401);
    const html = await a.request('/', { headers: { accept: 'text/html' } });
    assert.equal(html.status, 303);
    assert.equal(html.headers.get('location'), '/login');
    const refused = await a.request('/login', { method: 'POST', body: new URLSearchParams({ token: 'wrong' }) });
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get('set-cookie'), null);
    const ok = await a.request('/login', { method: 'POST', body: new URLSearchParams({ token: TOKEN }) });
    assert.equal(ok.status, 303);
    const cookie = ok.headers.get('set-cookie') ?? '';
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    const session = cookie.split(';')[0] as string;
    assert.equal((await a.request('/api/status', { headers: { cookie: session } })).status, 200);
    assert.equal((await a.request('/logout', { method: 'POST', headers: { cookie: session } })).status, 303);
    assert.equal((await a.request('/api/status', { headers: { cookie: session } })).status, 401, 'signed out');
  });

  it('starts a drill only from a JSON body, one at a time', async () => {
    const { app: a, drills } = app();
    const post = (body: string, type = 'application/json') =>
      a.request('/api/drill', { method: 'POST', headers: { ...bearer, 'content-type': type }, body });
    assert.equal((await post('from=east', 'application/x-www-form-urlencoded')).status, 415);
    assert.equal((await post('{"from":"north"}')).status, 400);
    assert.equal(drills.started.length, 0);
    assert.equal((await post('{"from":"west","outageSeconds":3}')).status, 202);
    assert.equal((await post('{"from":"west"}')).status, 409);
    assert.deepEqual(drills.started, [
      { from: 'west', hard: false, warmupSeconds: 10, outageSeconds: 3, afterSeconds: 5, ordersPerSecond: 10 },
    ]);
  });

  it('streams live events filtered by type, at most eventsPerSecond, counting the rest', async () => {
    const { app: a, f } = app({ eventsPerSecond: 5 });
    const res = await a.request('/api/events?type=commerce.', { headers: bearer });
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    while (f.listeners.size === 0) await new Promise((r) => setTimeout(r, 5));
    f.push('iot.telemetry.raw.v1', 50);
    f.push('commerce.order.created.v1', 8);
    let text = '';
    const decoder = new TextDecoder();
    while (!text.includes('event: skipped')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    await reader.cancel();
    const ids = [...text.matchAll(/^id: (.+)$/gm)].map((m) => m[1]);
    assert.deepEqual(
      ids,
      [0, 1, 2, 3, 4].map((i) => `commerce.order.created.v1-${i}`),
    );
    assert.match(text, /event: skipped\ndata: \{"skipped":3\}/);
  });
});
