/**
 * WebSocket pass-through: the client's socket at the edge is joined to a socket the edge opens
 * to the chosen region's hub, and frames are relayed both ways unchanged (the edge does not
 * speak graphql-transport-ws; it only carries it). Web-standard: the upstream is the global
 * `WebSocket`, the client side is Hono's WSContext, and the runtime's upgrade helper
 * (`hono/deno` on Deno, `@hono/node-server` on Node) comes in as a port.
 *
 * RFC 6455 §7.4.1/§7.4.2 close codes (the same table as the hub, whose codes pass through):
 * a token that expires while the socket is open closes both sides with 3005; a client that
 * does not read fast enough (more than `maxBufferedBytes` waiting at the edge) with 3008; a
 * client message over `maxMessageBytes` with 1009; a hub that cannot be reached with 1013
 * ("Try Again Later"); a hub that went away abnormally with 1011. Codes a peer cannot send
 * (1005 "no status", 1006 "abnormal") are never forwarded: RFC 6455 §7.4.1 "MUST NOT be set
 * as a status code in a Close control frame by an endpoint".
 */
import type { UpgradeWebSocket, WSContext, WSEvents, WSMessageReceive } from 'hono/ws';

/** The runtime's `upgradeWebSocket` helper (hono/deno or @hono/node-server). */
export type WebSocketUpgrader = UpgradeWebSocket<unknown>;

/** Close codes the edge itself sends. */
export const EDGE_CLOSE_CODES = {
  normal: 1000,
  messageTooBig: 1009,
  upstreamFailed: 1011,
  tryAgainLater: 1013,
  tokenExpired: 3005,
  slow: 3008,
} as const;

/** A WebSocket client constructor (the global one; tests pass a fake). */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocket;

/** Where and as whom one client socket is relayed. */
export interface RelayTarget {
  /** The hub's WebSocket URL with the caller's token (`ws://…/v1/graphql?access_token=…`). */
  readonly url: string;
  /** The subprotocol the client asked for (graphql-transport-ws). */
  readonly protocol?: string;
  /** When the caller's token expires (ms since the epoch): the socket closes then. */
  readonly expiresAt?: number;
}

/** Options of relayEvents. */
export interface RelayOptions {
  readonly WebSocket?: WebSocketConstructor;
  /** Bytes waiting to reach the client before it is closed as slow; 1 MiB by default. */
  readonly maxBufferedBytes?: number;
  /** Largest message a client may send; 64 KiB by default. */
  readonly maxMessageBytes?: number;
  /** Client frames held while the upstream connects; 64 by default (more closes with 1013). */
  readonly maxPendingFrames?: number;
  /** How long the upstream may take to open; 10 s by default. */
  readonly connectTimeoutMs?: number;
  readonly clock?: () => number;
  readonly onClose?: (info: { code: number; reason: string; side: 'client' | 'upstream' | 'edge' }) => void;
}

/** setTimeout cannot wait longer than this (2^31-1 ms). */
const MAX_TIMER_MS = 2_147_483_647;
const MAX_REASON_BYTES = 123;

/** Bytes the client socket has queued (both runtimes' sockets expose it; 0 when unknown). */
function buffered(ws: WSContext<unknown>): number {
  const raw = ws.raw as { bufferedAmount?: unknown } | undefined;
  return typeof raw?.bufferedAmount === 'number' ? raw.bufferedAmount : 0;
}

function sizeOf(data: WSMessageReceive | string | ArrayBuffer): number {
  if (typeof data === 'string') return new TextEncoder().encode(data).byteLength;
  if (data instanceof Blob) return data.size;
  return (data as ArrayBufferLike).byteLength;
}

/** A close reason within the 123 bytes a close frame allows. */
function reasonOf(text: string): string {
  let reason = text;
  while (new TextEncoder().encode(reason).byteLength > MAX_REASON_BYTES) reason = reason.slice(0, -1);
  return reason;
}

/** The code to pass on to the client for an upstream close: reserved codes become what they mean. */
export function clientCloseCode(upstreamCode: number, opened: boolean): number {
  if (!opened) return EDGE_CLOSE_CODES.tryAgainLater;
  if (upstreamCode === 1005) return EDGE_CLOSE_CODES.normal;
  if (upstreamCode === 1006 || upstreamCode === 1015 || upstreamCode < 1000 || upstreamCode >= 5000) {
    return EDGE_CLOSE_CODES.upstreamFailed;
  }
  return upstreamCode;
}

/** The code the edge may send upstream for a client close (the WebSocket API allows 1000 and 3000-4999 only). */
export function upstreamCloseCode(clientCode: number): number {
  return clientCode >= 3000 && clientCode <= 4999 ? clientCode : EDGE_CLOSE_CODES.normal;
}

/** The events of one relayed client socket, for the runtime's upgrade helper. */
export function relayEvents(target: RelayTarget, opts: RelayOptions = {}): WSEvents<unknown> {
  const Ctor = opts.WebSocket ?? (globalThis.WebSocket as unknown as WebSocketConstructor);
  const maxBuffered = opts.maxBufferedBytes ?? 1 << 20;
  const maxMessage = opts.maxMessageBytes ?? 64 * 1024;
  const maxPending = opts.maxPendingFrames ?? 64;
  const clock = opts.clock ?? Date.now;
  let client: WSContext<unknown> | undefined;
  let upstream: WebSocket | undefined;
  let opened = false;
  let done = false;
  const pending: Array<string | ArrayBuffer | Blob> = [];
  const timers: Array<ReturnType<typeof setTimeout>> = [];

  function finish(): void {
    done = true;
    pending.length = 0;
    for (const t of timers) clearTimeout(t);
  }

  /** The edge ends the relay: the client gets `code`, the upstream a normal close. */
  function closeBoth(code: number, reason: string): void {
    if (done) return;
    finish();
    opts.onClose?.({ code, reason, side: 'edge' });
    try {
      client?.close(code, reasonOf(reason));
    } catch {
      // already closing
    }
    try {
      upstream?.close(upstreamCloseCode(code), reasonOf(reason));
    } catch {
      // already closing
    }
  }

  function connect(ws: WSContext<unknown>): void {
    client = ws;
    if (target.expiresAt !== undefined) {
      const left = target.expiresAt - clock();
      if (left <= 0) {
        closeBoth(EDGE_CLOSE_CODES.tokenExpired, 'token expired');
        return;
      }
      timers.push(
        setTimeout(() => closeBoth(EDGE_CLOSE_CODES.tokenExpired, 'token expired'), Math.min(left, MAX_TIMER_MS)),
      );
    }
    const socket = target.protocol ? new Ctor(target.url, target.protocol) : new Ctor(target.url);
    upstream = socket;
    socket.binaryType = 'arraybuffer';
    const connecting = setTimeout(() => {
      if (!opened) closeBoth(EDGE_CLOSE_CODES.tryAgainLater, 'region hub did not answer');
    }, opts.connectTimeoutMs ?? 10_000);
    timers.push(connecting);
    socket.onopen = () => {
      clearTimeout(connecting);
      if (done) return socket.close(EDGE_CLOSE_CODES.normal);
      opened = true;
      for (const frame of pending.splice(0)) socket.send(frame);
    };
    socket.onmessage = (event: MessageEvent) => {
      if (done || client === undefined) return;
      // The hub writes as fast as the edge reads; the client may not: bound what waits for it.
      if (buffered(client) > maxBuffered) return closeBoth(EDGE_CLOSE_CODES.slow, 'slow consumer');
      client.send(event.data as string | ArrayBuffer);
    };
    socket.onclose = (event: CloseEvent) => {
      if (done) return;
      finish();
      const code = clientCloseCode(event.code, opened);
      const reason = opened ? event.reason : 'region hub unavailable';
      opts.onClose?.({ code, reason, side: 'upstream' });
      try {
        client?.close(code, reasonOf(reason));
      } catch {
        // already closing
      }
    };
    // An error is always followed by close, which carries the code.
    socket.onerror = () => {};
  }

  return {
    onOpen(_event, ws) {
      connect(ws);
    },
    onMessage(event, ws) {
      if (done) return;
      client ??= ws;
      const data = event.data;
      if (sizeOf(data) > maxMessage) return closeBoth(EDGE_CLOSE_CODES.messageTooBig, 'message too big');
      const frame = typeof data === 'string' || data instanceof Blob ? data : (data as ArrayBuffer);
      if (opened && upstream?.readyState === 1) {
        upstream.send(frame);
        return;
      }
      if (pending.length >= maxPending) return closeBoth(EDGE_CLOSE_CODES.tryAgainLater, 'region hub not ready');
      pending.push(frame);
    },
    onClose(event) {
      if (done) return;
      finish();
      opts.onClose?.({ code: event.code, reason: event.reason, side: 'client' });
      try {
        upstream?.close(upstreamCloseCode(event.code), reasonOf(event.reason ?? ''));
      } catch {
        // not open yet or already closing
      }
    },
    onError() {
      // close follows
    },
  };
}
