/**
 * The legacy payment provider, simulated for real: a SOAP 1.1 service built with the `soap` package from
 * schemas/wsdl/payment.wsdl, on a node:http server, so the commerce adapter is exercised over the wire.
 * Deterministic by payment token, idempotent by order id, and steerable (slow, fault, down) over HTTP.
 *
 * Wire rules this module follows (SOAP 1.1, W3C Note 2000):
 * - §6.2: "In case of a SOAP error while processing the request, the SOAP HTTP server MUST issue an HTTP 500
 *   "Internal Server Error" response and include a SOAP message in the response containing a SOAP Fault element".
 * - §4.4.1: "The Client class of errors indicate that the message was incorrectly formed or did not contain the
 *   appropriate information in order to succeed." / "The Server class of errors indicate that the message could
 *   not be processed for reasons not directly attributable to the contents of the message itself".
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import * as soap from 'soap';
import { traceServerRequests } from '../../infra/telemetry/node-server-spans.ts';

export type ProviderMode = 'normal' | 'slow' | 'fault' | 'down';

export interface ProviderBehaviour {
  readonly mode: ProviderMode;
  /** Extra latency of every answer in 'slow' mode. */
  readonly delayMs?: number;
}

export interface ProviderStats {
  /** SOAP calls that reached the service (an outage in 'down' mode answers before, so they are not counted). */
  calls: number;
  /** Distinct orders authorised. */
  authorizations: number;
}

export interface RunningPaymentProvider {
  /** The SOAP endpoint to post envelopes to. */
  readonly url: string;
  readonly wsdlUrl: string;
  readonly port: number;
  setBehaviour(b: ProviderBehaviour): void;
  stats(): ProviderStats;
  stop(): Promise<void>;
}

export const SOAP_PATH = '/soap/payment';
const WSDL_PATH = fileURLToPath(new URL('../../schemas/wsdl/payment.wsdl', import.meta.url));
const MODES: readonly ProviderMode[] = ['normal', 'slow', 'fault', 'down'];
const DEFAULT_SLOW_MS = 2000;
const SLOW_TOKEN_MS = 3000;
const TOKEN_PATTERN = /^tok_[A-Za-z0-9_]{1,64}$/;
const CURRENCY_PATTERN = /^[A-Z]{3}$/;
const MAX_ADMIN_BODY = 4096;

type Decision =
  | { readonly status: 'AUTHORIZED'; readonly authorizationId: string }
  | { readonly status: 'DECLINED'; readonly reason: string };

interface AuthorizeInput {
  readonly orderId: string;
  readonly amountCents: number;
  readonly currency: string;
  readonly paymentToken: string;
}

/** What `throw`n objects must look like for `soap` to answer a SOAP 1.1 fault. */
interface SoapFaultThrow {
  Fault: { faultcode: string; faultstring: string; statusCode: number };
}

function fault(kind: 'Client' | 'Server', faultstring: string): SoapFaultThrow {
  // statusCode is explicit because `soap` answers a thrown/rejected Fault with HTTP 200 unless told otherwise (§6.2).
  return { Fault: { faultcode: `soap:${kind}`, faultstring, statusCode: 500 } };
}

/** Checks one request against the contract; returns the typed input or throws a soap:Client fault naming the field. */
function validate(args: unknown): AuthorizeInput {
  const a = (typeof args === 'object' && args !== null ? args : {}) as Record<string, unknown>;
  const { orderId, amountCents, currency, paymentToken } = a;
  if (typeof orderId !== 'string' || orderId.trim() === '') throw fault('Client', 'orderId is required');
  if (typeof amountCents !== 'number' || !Number.isSafeInteger(amountCents) || amountCents <= 0) {
    throw fault('Client', 'amountCents must be a positive integer');
  }
  if (typeof currency !== 'string' || !CURRENCY_PATTERN.test(currency)) {
    throw fault('Client', 'currency must be three uppercase letters (ISO 4217)');
  }
  if (typeof paymentToken !== 'string' || !TOKEN_PATTERN.test(paymentToken)) {
    throw fault('Client', 'paymentToken must match tok_[A-Za-z0-9_]{1,64}');
  }
  return { orderId, amountCents, currency, paymentToken };
}

/** The provider's decision for a new order, by token; tok_fault throws, so nothing is remembered for it. */
function decide(paymentToken: string): Decision {
  if (paymentToken.startsWith('tok_decline')) return { status: 'DECLINED', reason: 'card declined' };
  if (paymentToken.startsWith('tok_insufficient')) return { status: 'DECLINED', reason: 'insufficient funds' };
  if (paymentToken.startsWith('tok_fault')) throw fault('Server', 'provider internal error');
  return { status: 'AUTHORIZED', authorizationId: `auth_${randomUUID()}` };
}

/**
 * `soap` turns xsd:int with parseInt, so "12.5" would arrive as 12 and "12abc" as 12. Only a canonical integer
 * becomes a number; anything else stays text so validation can refuse it.
 */
function strictInt(text: string): number | string {
  return /^[+-]?\d+$/.test(text) ? Number(text) : text;
}

function parseBehaviour(body: unknown): ProviderBehaviour | string {
  if (typeof body !== 'object' || body === null) return 'body must be a JSON object';
  const { mode, delayMs } = body as Record<string, unknown>;
  if (typeof mode !== 'string' || !MODES.includes(mode as ProviderMode))
    return `mode must be one of ${MODES.join(', ')}`;
  if (delayMs !== undefined && (typeof delayMs !== 'number' || !Number.isSafeInteger(delayMs) || delayMs < 0)) {
    return 'delayMs must be a non-negative integer';
  }
  return delayMs === undefined ? { mode: mode as ProviderMode } : { mode: mode as ProviderMode, delayMs };
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  res.writeHead(status, { 'content-type': type });
  res.end(JSON.stringify(body));
}

/** RFC 9457 problem details, the house format for HTTP errors. */
function sendProblem(res: http.ServerResponse, status: number, title: string, detail: string): void {
  sendJson(res, status, { type: 'about:blank', title, status, detail }, 'application/problem+json');
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_ADMIN_BODY) throw new Error(`body larger than ${MAX_ADMIN_BODY} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function listenOn(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function soapReady(server: http.Server, options: soap.IServerOptions): Promise<soap.Server> {
  return new Promise((resolve, reject) => {
    const soapServer = soap.listen(server, {
      ...options,
      callback: (err: unknown) => (err ? reject(err) : resolve(soapServer)),
    });
  });
}

/** Starts the simulated legacy payment provider; port 0 picks a free port. */
export async function startPaymentProvider(opts: { port: number; host?: string }): Promise<RunningPaymentProvider> {
  const host = opts.host ?? '127.0.0.1';
  let behaviour: ProviderBehaviour = { mode: 'normal' };
  const counters: ProviderStats = { calls: 0, authorizations: 0 };
  const decisions = new Map<string, Decision>();
  // Pending delays are tracked so stop() can drop them: a stopped provider must not answer, nor keep the process up.
  const timers = new Set<NodeJS.Timeout>();

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  const setBehaviour = (b: ProviderBehaviour): void => {
    const checked = parseBehaviour(b);
    if (typeof checked === 'string') throw new TypeError(checked);
    behaviour = checked;
  };
  const stats = (): ProviderStats => ({ ...counters });

  async function authorizePayment(args: unknown): Promise<Decision> {
    counters.calls++;
    if (behaviour.mode === 'slow') await sleep(behaviour.delayMs ?? DEFAULT_SLOW_MS);
    if (behaviour.mode === 'fault') throw fault('Server', 'provider internal error');
    const input = validate(args);
    if (input.paymentToken.startsWith('tok_slow')) await sleep(SLOW_TOKEN_MS);
    // Read and write the map with no await in between, so concurrent calls for one order agree.
    const known = decisions.get(input.orderId);
    if (known) return known;
    const decision = decide(input.paymentToken);
    decisions.set(input.orderId, decision);
    if (decision.status === 'AUTHORIZED') counters.authorizations++;
    return decision;
  }

  async function admin(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://provider').pathname;
    if (path === '/admin/stats' && req.method === 'GET') return sendJson(res, 200, stats());
    if (path === '/admin/behaviour' && req.method === 'GET') return sendJson(res, 200, behaviour);
    if (path === '/admin/behaviour' && req.method === 'POST') {
      let body: unknown;
      try {
        body = JSON.parse(await readBody(req));
      } catch (err) {
        return sendProblem(res, 400, 'Bad Request', `body must be JSON: ${(err as Error).message}`);
      }
      const checked = parseBehaviour(body);
      if (typeof checked === 'string') return sendProblem(res, 400, 'Bad Request', checked);
      behaviour = checked;
      return sendJson(res, 200, behaviour);
    }
    sendProblem(res, 404, 'Not Found', `no route for ${req.method} ${path}`);
  }

  // `soap.listen` takes over 'request' and hands every path other than SOAP_PATH to the listeners present before it.
  const server = http.createServer((req, res) => {
    admin(req, res).catch((err: unknown) => sendProblem(res, 500, 'Internal Server Error', String(err)));
  });
  const options: soap.IServerOptions & { customDeserializer: Record<string, (text: string) => unknown> } = {
    path: SOAP_PATH,
    services: { LegacyPaymentService: { LegacyPaymentPort: { AuthorizePayment: authorizePayment } } },
    xml: readFileSync(WSDL_PATH, 'utf8'),
    // A malformed envelope becomes an "Invalid XML" fault, and internal errors never leak a stack trace.
    returnFault: true,
    suppressStack: true,
    // Not in IServerOptions' type, yet `soap` passes it to the WSDL parser that reads the request.
    customDeserializer: { int: strictInt },
  };
  const soapServer = await soapReady(server, options);
  traceServerRequests(server, 'meridian-payment-provider');
  // Runs before routing, for every request: an outage answers 503 with no SOAP body, yet /admin stays reachable.
  soapServer.authorizeConnection = (req, res) => {
    if (behaviour.mode !== 'down' || new URL(req.url ?? '/', 'http://provider').pathname.startsWith('/admin/')) {
      return true;
    }
    res?.writeHead(503, { 'content-length': '0', 'retry-after': '1' });
    return false; // `soap` then calls res.end() itself.
  };
  await listenOn(server, opts.port, host);

  const { port } = server.address() as AddressInfo;
  const base = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  let stopping: Promise<void> | undefined;
  return {
    url: `${base}${SOAP_PATH}`,
    wsdlUrl: `${base}${SOAP_PATH}?wsdl`,
    port,
    setBehaviour,
    stats,
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopping;
    },
  };
}
