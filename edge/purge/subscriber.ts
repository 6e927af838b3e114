/**
 * The edge's purge subscriber: follows the `edge.purge` topic on EVERY region's hub (not just
 * the routed one — a write in either region must purge this edge) and hands each purge to the
 * cache. Reads SSE over fetch, since EventSource exists only in browsers.
 *
 * Guarantees:
 * - Once per event id from each region. Every change arrives twice, local in one hub and
 *   mirrored in the other, and both copies purge: each region says a change when its own data
 *   and cache hold it (the writer's at once, the other's once the change was copied there), and
 *   an edge that reads from the other region must drop what it fetched from there meanwhile.
 *   With the second copy dropped, an edge routed to the region that had not yet seen a change
 *   fetched the old value again after the first purge and served it until it expired. A
 *   bounded window of seen ids per region drops a region's own repeats.
 * - Resumes after a drop: reconnects with `Last-Event-ID`, and the hub replays what was
 *   missed within its history window.
 * - Says when it cannot resume (`onGap`): the hub answered `event: reset` (restarted, or the
 *   gap outgrew its history), or a stream that had delivered no event yet dropped (nothing to
 *   resume from). Purges may have been missed then; the cache should treat everything as stale.
 * - A stream silent for `idleTimeoutMs` (the hub sends a comment heartbeat every 15 s) is
 *   taken for dead — a half-open TCP connection never errors by itself — and reopened.
 */
import { createSseParser, type SseEvent } from './sse-parser.ts';

/** Options of createPurgeSubscriber. */
export interface PurgeSubscriberOptions {
  /** Region name → hub URL: its base (`http://127.0.0.1:41001`) or its stream URL (`…/v1/stream`). */
  readonly regions: Readonly<Record<string, string>>;
  /** A bearer token with the `edge:purge` scope; asked again on every (re)connect, so it may rotate. */
  readonly token: () => Promise<string> | string;
  /** Drop (soft: mark stale) every cached response tagged with one of `tags`. */
  readonly onPurge: (tags: string[], soft: boolean) => void | Promise<void>;
  /** Purges from `region` may have been missed (see the module comment). */
  readonly onGap?: (region: string, reason: 'reset' | 'no-resume-point') => void;
  readonly fetch?: typeof fetch;
  /** Delay before reconnecting after a drop; doubles on each failed attempt up to maxReconnectMs. */
  readonly reconnectMs?: number;
  readonly maxReconnectMs?: number;
  /** A stream silent this long is reopened; 45 s (three hub heartbeats) by default. */
  readonly idleTimeoutMs?: number;
  /** How many recent event ids are remembered for deduplication; 10 000 by default. */
  readonly dedupeWindow?: number;
  readonly log?: (line: string) => void;
}

/** One region's stream. */
export interface PurgeStreamStatus {
  readonly url: string;
  readonly connected: boolean;
  readonly lastEventId: string | null;
  readonly lastError: string | null;
  /** Successful connections so far. */
  readonly connects: number;
  /** Events received on this stream (duplicates included). */
  readonly events: number;
}

/** The subscriber's state for ops and metrics. */
export interface PurgeSubscriberStatus {
  readonly regions: Readonly<Record<string, PurgeStreamStatus>>;
  /** Purges handed to onPurge. */
  readonly purges: number;
  /** Events dropped because their region had delivered them already (a replay after a reconnect). */
  readonly duplicates: number;
  readonly gaps: number;
}

/** The purge subscriber service. */
export interface PurgeSubscriber {
  /** Opens one stream per region; idempotent. */
  start(): void;
  /** Closes every stream and resolves when they are closed; idempotent. */
  stop(): Promise<void>;
  status(): PurgeSubscriberStatus;
}

/** The hub topic and event name of purges (regions/commerce/purge-feed.ts publishes them). */
export const PURGE_TOPIC = 'edge.purge';
const PURGE_EVENT = 'purge';
const RESET_EVENT = 'reset';

interface StreamState {
  url: string;
  connected: boolean;
  lastEventId: string | undefined;
  lastError: string | undefined;
  connects: number;
  events: number;
  /** Closes the open connection (stop, idle timeout). */
  close: (() => void) | undefined;
}

/** The stream URL of a hub: its `/v1/stream` when given a base URL, with `?topics=edge.purge`. */
export function purgeStreamUrl(hubUrl: string): string {
  const url = new URL(hubUrl);
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/v1/stream';
  url.searchParams.set('topics', PURGE_TOPIC);
  return url.href;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message || err.name : String(err);
}

/** Waits `ms`, or less when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** The tags of a purge message's data, or undefined when it is not a purge message. */
function parsePurge(data: string): { tags: string[]; soft: boolean } | undefined {
  let body: unknown;
  try {
    body = JSON.parse(data);
  } catch {
    return undefined;
  }
  const { tags, soft } = (body ?? {}) as { tags?: unknown; soft?: unknown };
  if (!Array.isArray(tags)) return undefined;
  const valid = tags.filter((t): t is string => typeof t === 'string' && t !== '');
  // Anything but an explicit soft: true purges hard: when unsure, never serve stale data.
  return valid.length === 0 ? undefined : { tags: [...new Set(valid)], soft: soft === true };
}

/** Creates the subscriber; call `start()` to connect. */
export function createPurgeSubscriber(opts: PurgeSubscriberOptions): PurgeSubscriber {
  const fetchFn = opts.fetch ?? ((input, init) => fetch(input, init));
  const reconnectMs = opts.reconnectMs ?? 500;
  const maxReconnectMs = Math.max(opts.maxReconnectMs ?? 5000, reconnectMs);
  const idleTimeoutMs = opts.idleTimeoutMs ?? 45_000;
  const dedupeWindow = opts.dedupeWindow ?? 10_000;
  const log = opts.log ?? ((line: string) => console.warn(line));
  const names = Object.keys(opts.regions);
  if (names.length === 0) throw new TypeError('regions: at least one hub URL is needed');

  const streams = new Map<string, StreamState>();
  for (const name of names) {
    const raw = opts.regions[name] as string;
    let url: string;
    try {
      url = purgeStreamUrl(raw);
    } catch {
      throw new TypeError(`regions.${name}: "${raw}" is not a URL`);
    }
    streams.set(name, {
      url,
      connected: false,
      lastEventId: undefined,
      lastError: undefined,
      connects: 0,
      events: 0,
      close: undefined,
    });
  }

  /** `<region> <event id>`, insertion-ordered: the oldest goes first when the window is full. */
  const seen = new Set<string>();
  let purges = 0;
  let duplicates = 0;
  let gaps = 0;
  let stopper: AbortController | undefined;
  let loops: Promise<void>[] = [];

  function gap(region: string, reason: 'reset' | 'no-resume-point'): void {
    gaps += 1;
    log(`purge: ${region} hub could not resume (${reason}); purges from it may have been missed`);
    try {
      opts.onGap?.(region, reason);
    } catch (err) {
      log(`purge: onGap failed: ${message(err)}`);
    }
  }

  async function handle(region: string, stream: StreamState, event: SseEvent): Promise<void> {
    stream.events += 1;
    if (event.type === RESET_EVENT) return gap(region, 'reset');
    if (event.type !== PURGE_EVENT) return;
    // An empty id ("id" with no value) resets the stream's id; it identifies nothing.
    if (event.hasOwnId && event.lastEventId !== '') {
      const id = `${region} ${event.lastEventId}`;
      if (seen.has(id)) {
        duplicates += 1;
        return;
      }
      seen.add(id);
      if (seen.size > dedupeWindow) seen.delete(seen.values().next().value as string);
    }
    const purge = parsePurge(event.data);
    if (purge === undefined) {
      log(`purge: ${region} sent a purge event without tags (id ${event.lastEventId || '-'}); ignored`);
      return;
    }
    purges += 1;
    try {
      await opts.onPurge(purge.tags, purge.soft);
    } catch (err) {
      log(`purge: onPurge failed for ${purge.tags.join(',')}: ${message(err)}`);
    }
  }

  /** One connection: resolves when the stream ends; throws when it could not be opened. */
  async function connect(region: string, stream: StreamState, signal: AbortSignal, hadStream: boolean): Promise<void> {
    const conn = new AbortController();
    const close = () => conn.abort();
    signal.addEventListener('abort', close, { once: true });
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    let idle: ReturnType<typeof setTimeout> | undefined;
    stream.close = () => {
      conn.abort();
      // Also cancel the body: a fetch that ignores its signal must not keep the loop waiting.
      void reader?.cancel().catch(() => {});
    };
    try {
      const token = await opts.token();
      const headers = new Headers({
        accept: 'text/event-stream',
        'cache-control': 'no-cache',
        authorization: `Bearer ${token}`,
      });
      if (stream.lastEventId !== undefined) headers.set('last-event-id', stream.lastEventId);
      if (conn.signal.aborted) return;
      const res = await fetchFn(stream.url, { headers, signal: conn.signal });
      if (conn.signal.aborted) {
        // Stopped while connecting: do not start reading a body nobody will cancel.
        await res.body?.cancel().catch(() => {});
        return;
      }
      const type = res.headers.get('content-type') ?? '';
      if (res.status !== 200 || !type.toLowerCase().startsWith('text/event-stream') || res.body === null) {
        await res.body?.cancel().catch(() => {});
        throw new Error(`hub answered ${res.status} ${type}`.trim());
      }
      if (hadStream && stream.lastEventId === undefined) gap(region, 'no-resume-point');
      stream.connected = true;
      stream.connects += 1;
      stream.lastError = undefined;

      const queue: SseEvent[] = [];
      const parser = createSseParser({ onEvent: (e) => queue.push(e) }, stream.lastEventId ?? '');
      const decoder = new TextDecoder();
      const body = res.body;
      reader = body.getReader();
      const armIdle = () => {
        clearTimeout(idle);
        idle = setTimeout(() => {
          stream.lastError = `no data for ${idleTimeoutMs} ms`;
          stream.close?.();
        }, idleTimeoutMs);
      };
      armIdle();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          armIdle();
          parser.push(decoder.decode(value, { stream: true }));
          for (let e = queue.shift(); e !== undefined; e = queue.shift()) await handle(region, stream, e);
          // Resume from what was dispatched, even if the stream drops in the middle of the next event;
          // an empty id means "no id" (the spec's reset), so no Last-Event-ID is sent then.
          stream.lastEventId = parser.lastEventId === '' ? undefined : parser.lastEventId;
        }
        stream.lastError ??= 'stream ended';
      } catch (err) {
        // A drop after the stream was open is a normal end of this connection, not a failed attempt.
        stream.lastError ??= message(err);
      }
      parser.end();
    } finally {
      clearTimeout(idle);
      signal.removeEventListener('abort', close);
      stream.connected = false;
      stream.close = undefined;
    }
  }

  async function follow(region: string, signal: AbortSignal): Promise<void> {
    const stream = streams.get(region) as StreamState;
    let failures = 0;
    let hadStream = false;
    while (!signal.aborted) {
      try {
        await connect(region, stream, signal, hadStream);
        hadStream = true;
        failures = 0;
      } catch (err) {
        if (signal.aborted) break;
        stream.lastError = message(err);
        failures += 1;
      }
      if (signal.aborted) break;
      const base = Math.min(reconnectMs * 2 ** Math.max(0, failures - 1), maxReconnectMs);
      // ±20 % jitter, so a fleet of edges does not reconnect to a restarted hub in one burst.
      await sleep(base * (0.8 + Math.random() * 0.4), signal);
    }
  }

  return {
    start() {
      if (stopper !== undefined) return;
      stopper = new AbortController();
      const signal = stopper.signal;
      loops = names.map((name) => follow(name, signal));
    },
    async stop() {
      if (stopper === undefined) return;
      stopper.abort();
      for (const stream of streams.values()) stream.close?.();
      await Promise.allSettled(loops);
      loops = [];
      stopper = undefined;
    },
    status() {
      const regions: Record<string, PurgeStreamStatus> = {};
      for (const [name, s] of streams) {
        regions[name] = {
          url: s.url,
          connected: s.connected,
          lastEventId: s.lastEventId ?? null,
          lastError: s.lastError ?? null,
          connects: s.connects,
          events: s.events,
        };
      }
      return { regions, purges, duplicates, gaps };
    },
  };
}
