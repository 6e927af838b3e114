/**
 * Fakes of both ends of a relayed WebSocket: the client side as Hono's WSContext sees it, and
 * a WebSocket class standing in for the global one the edge opens to a hub. Runtime-neutral.
 */
import type { WSContext } from 'hono/ws';

/** The client's socket at the edge. */
export interface FakeClient {
  readonly ctx: WSContext<unknown>;
  readonly sent: unknown[];
  closed: { code?: number; reason?: string } | undefined;
  /** What the runtime would report as not yet written to the client. */
  raw: { bufferedAmount: number };
}

/** A client side that records what the edge sends and how it closes it. */
export function fakeClient(): FakeClient {
  const client: FakeClient = {
    sent: [],
    closed: undefined,
    raw: { bufferedAmount: 0 },
    ctx: undefined as unknown as WSContext<unknown>,
  };
  (client as { ctx: WSContext<unknown> }).ctx = {
    get raw() {
      return client.raw;
    },
    send(data: unknown) {
      if (client.closed) throw new Error('send after close');
      client.sent.push(data);
    },
    close(code?: number, reason?: string) {
      client.closed ??= { code, reason };
    },
    readyState: 1,
  } as unknown as WSContext<unknown>;
  return client;
}

/** The WebSocket the edge opens upstream; instances are kept in order of creation. */
export class FakeUpstream {
  static instances: FakeUpstream[] = [];
  readonly url: string;
  readonly protocols: string | string[] | undefined;
  readyState = 0;
  binaryType = 'blob';
  readonly sent: unknown[] = [];
  closed: { code?: number; reason?: string } | undefined;
  onopen: ((e: Event) => void) | null = null;
  onmessage: ((e: MessageEvent) => void) | null = null;
  onclose: ((e: CloseEvent) => void) | null = null;
  onerror: ((e: Event) => void) | null = null;

  constructor(url: string, protocols?: string | string[]) {
    this.url = url;
    this.protocols = protocols;
    FakeUpstream.instances.push(this);
  }

  send(data: unknown): void {
    if (this.readyState !== 1) throw new Error('InvalidStateError: not open');
    this.sent.push(data);
  }

  /** As the WebSocket API: only 1000 and 3000-4999 may be sent. */
  close(code?: number, reason?: string): void {
    if (code !== undefined && code !== 1000 && (code < 3000 || code > 4999)) {
      throw new Error(`InvalidAccessError: close code ${code}`);
    }
    this.closed ??= { code, reason };
    this.readyState = 3;
  }

  /** The hub accepted the connection. */
  open(): void {
    this.readyState = 1;
    this.onopen?.(new Event('open'));
  }

  /** The hub sent a frame. */
  message(data: unknown): void {
    this.onmessage?.({ data } as MessageEvent);
  }

  /** The hub (or the network) closed the connection. */
  drop(code: number, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason } as CloseEvent);
  }

  /** The newest instance (fails when there is none). */
  static last(): FakeUpstream {
    const u = FakeUpstream.instances.at(-1);
    if (!u) throw new Error('no upstream socket was opened');
    return u;
  }
}
