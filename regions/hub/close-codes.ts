/**
 * WebSocket close codes of the hub (and, relayed unchanged, of the edge). RFC 6455 §7.4.2:
 * "Status codes in the range 3000-3999 are reserved for use by libraries, frameworks, and
 * applications" and "4000-4999 are reserved for private use". Where a well-known server
 * already gives a condition a number we reuse it: Centrifugo's disconnect codes for the
 * protections, graphql-ws's 44xx for protocol errors.
 */
export const CLOSE_CODES = {
  /** The client or server ended the connection normally. */
  normal: 1000,
  /** RFC 6455 §7.4.1: "a message that is too big for it to process" (over the hub's message size limit). */
  messageTooBig: 1009,
  /** The hub is shutting down: reconnect (another instance or the restarted one) and resume. Centrifugo "shutdown". */
  shutdown: 3001,
  /** The bearer token expired while the socket was open: reconnect with a fresh token. Centrifugo "expired". */
  tokenExpired: 3005,
  /** The client fell too far behind (its buffer filled): reconnect and resume. Centrifugo "slow". */
  slow: 3008,
  /** No pong within a ping interval: the connection is dead. Centrifugo "no pong". */
  noPong: 3012,
  /** The user already holds the maximum number of connections. Centrifugo "connection limit". */
  connectionLimit: 3504,
  /** graphql-ws: missing or invalid token in connection_init (do not retry with the same token). */
  unauthorized: 4401,
  /** graphql-ws: the server refused the connection. */
  forbidden: 4403,
  /** graphql-ws: an unexpected server error. */
  internalError: 4500,
} as const;
