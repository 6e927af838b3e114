/**
 * WebSocket transport for the hub: `GET /v1/graphql` upgraded, speaking the GraphQL over
 * WebSocket protocol (graphql-transport-ws, the `graphql-ws` package's server), so any
 * standard client follows every topic the hub carries through the modules' subscription
 * fields (and `hubEvents` for raw topics), with the same topic authorization, resume and
 * bounded buffers as SSE.
 *
 * Protocol (graphql-ws PROTOCOL.md): "The server will close the socket with 4401:
 * Unauthorized if it receives a Subscribe message before the connection is acknowledged";
 * "ConnectionInit … If the server wishes to reject the connection it is recommended to close
 * the socket with 4403: Forbidden". The token comes with the handshake (`Authorization`
 * header or `?access_token=`, RFC 6750 §2.3), or in the `connection_init` payload
 * (`{ "authorization": "Bearer …" }`) for browsers. A bad token at the handshake is answered
 * `401` and never upgraded; in connection_init it closes with 4401.
 *
 * Protections, each with its close code (close-codes.ts): a token that expires closes the
 * socket (3005); a client whose unsent data passes `maxBufferedBytes`, or whose hub buffer
 * overflows, is cut off (3008) without slowing anyone else (each connection writes on its
 * own, and the hub never waits for a subscriber); pings every `pingIntervalMs`, no pong by
 * the next one closes (3012); at most `maxConnectionsPerUser` per user (3504); messages over
 * `maxMessageBytes` (1009); each operation spends a per-user token (`RATE_LIMITED` error).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { GraphQLError } from 'graphql';
import { GRAPHQL_TRANSPORT_WS_PROTOCOL, handleProtocols, makeServer } from 'graphql-ws';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Actor } from '../../domains/shared/actor.ts';
import { isDomainError } from '../../domains/shared/errors.ts';
import { CLOSE_CODES } from './close-codes.ts';
import type { UserLimits } from './limits.ts';
import type { HubGraphQL, HubOperationContext } from './subscriptions.ts';

/** A verified caller and when their token stops being valid (ms since the epoch). */
export interface Session {
  readonly actor: Actor;
  readonly expiresAt?: number;
}

/** Options of createWsTransport. */
export interface WsTransportOptions {
  readonly graphql: HubGraphQL;
  /** Turns an Authorization value into a session, or throws a DomainError (UNAUTHENTICATED, or retryable). */
  readonly verify: (authorization: string) => Promise<Session>;
  readonly limits: UserLimits;
  /** The upgrade path; `/v1/graphql` by default. */
  readonly path?: string;
  /** Largest message a client may send; 64 KiB by default. */
  readonly maxMessageBytes?: number;
  /** Unsent bytes a connection may hold before it is closed as slow; 1 MiB by default. */
  readonly maxBufferedBytes?: number;
  /** Ping interval (a pong must come before the next one); 25 s by default. */
  readonly pingIntervalMs?: number;
  /** How long a client has to send connection_init; 5 s by default. */
  readonly connectionInitTimeoutMs?: number;
  /** Operations running at once on one connection; 100 by default. */
  readonly maxOperationsPerConnection?: number;
  readonly log?: (line: string) => void;
}

/** The transport, attached to the hub's HTTP server's `upgrade` event. */
export interface WsTransport {
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
  stats(): { readonly connections: number };
  /** Closes every connection (3001, reconnect elsewhere) and stops accepting new ones. */
  close(): Promise<void>;
}

interface ConnectionState {
  session: Session | undefined;
  release: (() => void) | undefined;
  expiry: ReturnType<typeof setTimeout> | undefined;
  alive: boolean;
  closeWith(code: number, reason: string): void;
}

interface Extra {
  readonly state: ConnectionState;
}

/** setTimeout cannot wait longer than this (2^31-1 ms, about 24.8 days). */
const MAX_TIMER_MS = 2_147_483_647;

function problemResponse(status: number, title: string, detail: string, headers: Record<string, string> = {}) {
  const body = JSON.stringify({ type: 'about:blank', title, status, detail });
  const lines = [
    `HTTP/1.1 ${status} ${title}`,
    'Connection: close',
    'Content-Type: application/problem+json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

function refuse(socket: Duplex, status: number, title: string, detail: string, headers?: Record<string, string>) {
  if (socket.destroyed) return;
  socket.end(problemResponse(status, title, detail, headers));
}

/** The token a client put in connection_init: `{ authorization: "Bearer …" }` or `{ access_token }`. */
function tokenOf(params: Readonly<Record<string, unknown>> | undefined): string | undefined {
  if (!params) return undefined;
  const { authorization, Authorization, access_token: accessToken } = params as Record<string, unknown>;
  const header = authorization ?? Authorization;
  if (typeof header === 'string' && header !== '') return header;
  if (typeof accessToken === 'string' && accessToken !== '') return `Bearer ${accessToken}`;
  return undefined;
}

/** Creates the hub's WebSocket transport. */
export function createWsTransport(opts: WsTransportOptions): WsTransport {
  const { graphql, verify, limits } = opts;
  const path = opts.path ?? '/v1/graphql';
  const maxBufferedBytes = opts.maxBufferedBytes ?? 1 << 20;
  const maxOperations = opts.maxOperationsPerConnection ?? 100;
  const log = opts.log ?? (() => {});
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: opts.maxMessageBytes ?? 64 * 1024,
    handleProtocols: (protocols) => handleProtocols(protocols),
    perMessageDeflate: false,
    clientTracking: true,
  });
  const states = new WeakMap<WebSocket, ConnectionState>();
  let closing = false;

  const server = makeServer<Record<string, unknown>, Extra>({
    schema: graphql.schema,
    connectionInitWaitTimeout: opts.connectionInitTimeoutMs ?? 5000,
    async onConnect(ctx) {
      const { state } = ctx.extra;
      if (state.session === undefined) {
        const authorization = tokenOf(ctx.connectionParams);
        if (authorization === undefined) {
          state.closeWith(CLOSE_CODES.unauthorized, 'Unauthorized: no token (handshake or connection_init)');
          return false;
        }
        try {
          state.session = await verify(authorization);
        } catch (err) {
          const retryable = isDomainError(err) && err.retryable;
          state.closeWith(
            retryable ? CLOSE_CODES.internalError : CLOSE_CODES.unauthorized,
            retryable
              ? 'token keys unavailable'
              : `Unauthorized: ${isDomainError(err) ? err.message : 'bad token'}`.slice(0, 120),
          );
          return false;
        }
      }
      const { actor, expiresAt } = state.session;
      const release = limits.connect(actor);
      if (release === undefined) {
        state.closeWith(CLOSE_CODES.connectionLimit, 'connection limit reached for this user');
        return false;
      }
      state.release = release;
      if (expiresAt !== undefined) {
        const left = expiresAt - Date.now();
        if (left <= 0) {
          state.closeWith(CLOSE_CODES.tokenExpired, 'token expired');
          return false;
        }
        state.expiry = setTimeout(
          () => state.closeWith(CLOSE_CODES.tokenExpired, 'token expired'),
          Math.min(left, MAX_TIMER_MS),
        );
      }
      return { epoch: graphql.epoch };
    },
    async onSubscribe(ctx, _id, payload) {
      const { state } = ctx.extra;
      const actor = (state.session as Session).actor;
      const admission = limits.admit(actor);
      if (!admission.ok) {
        return [
          new GraphQLError('too many operations: slow down', {
            extensions: { code: 'RATE_LIMITED', retryAfterMs: admission.retryAfterMs },
          }),
        ];
      }
      if (Object.keys(ctx.subscriptions).length > maxOperations) {
        return [
          new GraphQLError(`at most ${maxOperations} operations at once on one connection`, {
            extensions: { code: 'TOO_MANY_OPERATIONS' },
          }),
        ];
      }
      const context: HubOperationContext = {
        actor,
        onEnd(reason) {
          if (reason === 'overflow') state.closeWith(CLOSE_CODES.slow, 'slow consumer');
          else if (reason === 'hub-closed') state.closeWith(CLOSE_CODES.shutdown, 'hub shutting down');
        },
      };
      const prepared = graphql.prepare(payload, context);
      return Array.isArray(prepared) ? [...prepared] : (prepared as Exclude<typeof prepared, readonly GraphQLError[]>);
    },
    execute: (args) => graphql.execute(args),
    subscribe: (args) => graphql.subscribe(args),
  });

  function connected(ws: WebSocket, session: Session | undefined): void {
    let terminator: ReturnType<typeof setTimeout> | undefined;
    const state: ConnectionState = {
      session,
      release: undefined,
      expiry: undefined,
      alive: true,
      closeWith(code, reason) {
        if (ws.readyState === ws.CLOSED) return;
        if (ws.readyState === ws.OPEN) ws.close(code, reason);
        // A client that stopped reading will not answer the closing handshake either.
        terminator ??= setTimeout(() => ws.terminate(), 2000);
      },
    };
    states.set(ws, state);
    ws.on('pong', () => {
      state.alive = true;
    });
    ws.on('error', (err) => log(`hub ws: ${err.message}`));
    const closed = server.opened(
      {
        protocol: ws.protocol,
        send: (data) =>
          new Promise<void>((resolve) => {
            if (ws.readyState !== ws.OPEN) return resolve();
            if (ws.bufferedAmount > maxBufferedBytes) {
              state.closeWith(CLOSE_CODES.slow, 'slow consumer');
              return resolve();
            }
            // Resolves once the bytes are with the kernel: a client that stops reading stalls only its own
            // subscriptions, whose hub buffers then overflow and close it (3008).
            ws.send(data, () => resolve());
          }),
        close: (code, reason) => state.closeWith(code ?? CLOSE_CODES.normal, reason ?? ''),
        onMessage: (cb) => {
          ws.on('message', async (data, isBinary) => {
            try {
              await cb(isBinary ? Buffer.from(data as Buffer).toString('utf8') : String(data));
            } catch (err) {
              log(`hub ws: ${(err as Error)?.message ?? err}`);
              state.closeWith(CLOSE_CODES.internalError, 'Internal server error');
            }
          });
        },
      },
      { state },
    );
    ws.once('close', (code, reason) => {
      if (state.expiry) clearTimeout(state.expiry);
      if (terminator) clearTimeout(terminator);
      state.release?.();
      void closed(code, reason.toString()).catch((err) => log(`hub ws: close: ${(err as Error)?.message ?? err}`));
    });
  }

  const pinger = setInterval(() => {
    for (const ws of wss.clients) {
      const state = states.get(ws);
      if (!state || ws.readyState !== ws.OPEN) continue;
      if (!state.alive) {
        state.closeWith(CLOSE_CODES.noPong, 'no pong');
        continue;
      }
      state.alive = false;
      ws.ping();
    }
  }, opts.pingIntervalMs ?? 25_000);
  pinger.unref();

  async function upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => {});
    const url = new URL(request.url ?? '/', 'http://hub.invalid');
    if (url.pathname !== path) return refuse(socket, 404, 'Not Found', `no WebSocket endpoint at ${url.pathname}`);
    if (closing) return refuse(socket, 503, 'Service Unavailable', 'the hub is shutting down');
    const protocols = (request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    if (!protocols.includes(GRAPHQL_TRANSPORT_WS_PROTOCOL)) {
      return refuse(socket, 400, 'Bad Request', `Sec-WebSocket-Protocol must offer ${GRAPHQL_TRANSPORT_WS_PROTOCOL}`);
    }
    const queryToken = url.searchParams.get('access_token');
    const authorization = request.headers.authorization ?? (queryToken ? `Bearer ${queryToken}` : undefined);
    let session: Session | undefined;
    if (authorization !== undefined) {
      try {
        session = await verify(authorization);
      } catch (err) {
        if (isDomainError(err) && err.retryable) return refuse(socket, 503, 'Service Unavailable', err.message);
        const detail = isDomainError(err, 'UNAUTHENTICATED') ? err.message : 'the token was refused';
        // RFC 6750 §3: a refused token is answered with WWW-Authenticate and invalid_token.
        return refuse(socket, 401, 'Unauthorized', detail, {
          'WWW-Authenticate': 'Bearer realm="meridian", error="invalid_token"',
        });
      }
    }
    if (socket.destroyed) return;
    wss.handleUpgrade(request, socket, head, (ws) => connected(ws, session));
  }

  return {
    handleUpgrade(request, socket, head) {
      upgrade(request, socket, head).catch((err) => {
        log(`hub ws: upgrade failed: ${(err as Error)?.message ?? err}`);
        refuse(socket, 500, 'Internal Server Error', 'the WebSocket could not be opened');
      });
    },
    stats: () => ({ connections: wss.clients.size }),
    async close() {
      closing = true;
      clearInterval(pinger);
      const open = [...wss.clients];
      for (const ws of open) states.get(ws)?.closeWith(CLOSE_CODES.shutdown, 'hub shutting down');
      await Promise.all(
        open.map(
          (ws) =>
            new Promise<void>((resolve) => {
              if (ws.readyState === ws.CLOSED) return resolve();
              ws.once('close', () => resolve());
            }),
        ),
      );
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
