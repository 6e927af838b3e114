/**
 * A WebSocket load generator for the chat benchmark, run as a child process (`fork`), so the
 * connections it holds cost the hub, not the process that measures. It opens graphql-ws
 * connections (raw `ws`, the protocol by hand: the generator must stay cheap), each subscribing
 * `messageAdded` of its room, and records for every delivery how long after the sender stamped
 * it (the body carries the sender's wall time in ms) it arrived (the body is `bench <wall ms> <index> …`). Commands over IPC:
 * `open` → `opened`, `collect` → `collected` (latencies and this process's CPU), `close`.
 */
import { WebSocket } from 'ws';
import { createDevIssuer } from '../../regions/identity/dev-issuer.ts';

interface Spec {
  readonly user: string;
  readonly roomId: string;
}
type Command =
  | { type: 'open'; url: string; keyFile: string; tenant: string; specs: Spec[]; parallel: number }
  | { type: 'collect' }
  | { type: 'close' };

const ADDED = 'subscription($r: ID!) { messageAdded(roomId: $r) { body } }';
const sockets: WebSocket[] = [];
/** [message index, ms from the sender's stamp to arrival] per delivery. */
let latencies: Array<[number, number]> = [];
let closedEarly = 0;
const closeCodes: Record<string, number> = {};
let cpuFrom = process.cpuUsage();
let wallFrom = performance.now();

/** Wall-clock ms with sub-ms precision, comparable across processes on one machine. */
const wallNow = () => performance.timeOrigin + performance.now();

function open(url: string, token: string, roomId: string): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${url}?access_token=${token}`, 'graphql-transport-ws', { perMessageDeflate: false });
    let settled = false;
    const done = () => {
      if (!settled) {
        settled = true;
        resolve();
      }
    };
    ws.on('open', () => ws.send('{"type":"connection_init"}'));
    ws.on('message', (data) => {
      const text = data.toString();
      if (text.startsWith('{"type":"connection_ack"')) {
        ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: ADDED, variables: { r: roomId } } }));
        sockets.push(ws);
        return done();
      }
      const at = wallNow();
      const m = /"body":"bench (\d+(?:\.\d+)?) (\d+)/.exec(text);
      if (m) latencies.push([Number(m[2]), at - Number(m[1])]);
    });
    ws.on('close', (code) => {
      closeCodes[code] = (closeCodes[code] ?? 0) + 1;
      if (settled) closedEarly++;
      done();
    });
    ws.on('error', () => done());
  });
}

process.on('message', async (cmd: Command) => {
  if (cmd.type === 'open') {
    const issuer = createDevIssuer({ keyFile: cmd.keyFile, ttlSeconds: 3600 });
    let next = 0;
    await Promise.all(
      Array.from({ length: cmd.parallel }, async () => {
        while (next < cmd.specs.length) {
          const spec = cmd.specs[next++] as Spec;
          const { access_token } = await issuer.issue({ sub: spec.user, tenant: cmd.tenant, scopes: [] });
          await open(cmd.url, access_token, spec.roomId);
        }
      }),
    );
    latencies = [];
    cpuFrom = process.cpuUsage();
    wallFrom = performance.now();
    process.send?.({ type: 'opened', open: sockets.length, closeCodes });
  } else if (cmd.type === 'collect') {
    const cpu = process.cpuUsage(cpuFrom);
    const seconds = (performance.now() - wallFrom) / 1000;
    process.send?.({
      type: 'collected',
      latencies,
      closedEarly,
      closeCodes,
      cpuPercent: ((cpu.user + cpu.system) / 1e6 / seconds) * 100,
      rssMiB: process.memoryUsage().rss / 2 ** 20,
    });
    latencies = [];
    cpuFrom = process.cpuUsage();
    wallFrom = performance.now();
  } else if (cmd.type === 'close') {
    for (const ws of sockets) ws.terminate();
    process.exit(0);
  }
});
