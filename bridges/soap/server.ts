/**
 * The partner SOAP gateway: schemas/wsdl/partner-gateway.wsdl served with `soap` (serverless
 * `processRequest`) behind a node:http server that owns the wire: the body is read up to a limit
 * and screened (xml-guard.ts) before any parsing, the partner is authenticated (HTTP Basic, or a
 * WS-Security UsernameToken with a PasswordText password), and every failure is a SOAP 1.1 fault
 * with a code. Stock updates go to commerce through its port; order status is read through
 * commerce's port — partners never touch commerce's tables.
 *
 * SOAP 1.1 §6.2: "In case of a SOAP error while processing the request, the SOAP HTTP server MUST
 * issue an HTTP 500 "Internal Server Error" response and include a SOAP message in the response
 * containing a SOAP Fault element". §4.4.1: "Client ... the message was incorrectly formed or did
 * not contain the appropriate information in order to succeed"; "Server ... could not be processed
 * for reasons not directly attributable to the contents of the message itself". Authentication
 * failures answer 401 with a fault and `WWW-Authenticate` (RFC 7617).
 * WS-Security UsernameToken Profile 1.0: "wsse:Password ... @Type ... #PasswordText (default)".
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import * as soap from 'soap';
import type { LegacyPartner } from '../../domains/partners/legacy-partner.ts';
import { orderStatus, updateStock } from '../../domains/partners/operations.ts';
import type { OrderStatusReader, StockAdjuster } from '../../domains/partners/ports.ts';
import { DomainError, isDomainError } from '../../domains/shared/errors.ts';
import { traceServerRequests } from '../../infra/telemetry/node-server-spans.ts';
import { MAX_SOAP_BYTES, screenXml } from './xml-guard.ts';

export const SOAP_PARTNERS_PATH = '/soap/partners';
export const PARTNER_WSDL = fileURLToPath(new URL('../../schemas/wsdl/partner-gateway.wsdl', import.meta.url));
const PASSWORD_TEXT = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText';

export interface SoapBridgeDeps {
  /** The partner named by the credentials, or UNAUTHENTICATED. */
  authenticate(username: string, password: string): Promise<LegacyPartner>;
  readonly stock: StockAdjuster;
  readonly orders: OrderStatusReader;
  readonly log?: (line: string) => void;
}

export interface RunningSoapBridge {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** Client faults: the request itself is wrong. Everything else is the server's (retry later). */
const CLIENT_CODES = new Set([
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'BAD_USER_INPUT',
  'XML_FORBIDDEN',
  'PAYLOAD_TOO_LARGE',
  'PRODUCT_NOT_FOUND',
  'ORDER_NOT_FOUND',
  'NOT_FOUND',
  'INSUFFICIENT_STOCK',
]);

const xmlText = (s: string) =>
  s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] as string);

/** A SOAP 1.1 fault envelope of our own (for refusals made before `soap` parses anything). */
export function faultEnvelope(code: string, message: string, field?: string): string {
  const kind = CLIENT_CODES.has(code) ? 'Client' : 'Server';
  return (
    '<?xml version="1.0" encoding="utf-8"?>' +
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault>' +
    `<faultcode>soap:${kind}</faultcode><faultstring>${xmlText(message)}</faultstring>` +
    `<detail><PartnerFault xmlns="urn:meridian:partner-gateway:v1"><code>${xmlText(code)}</code>` +
    `${field ? `<field>${xmlText(field)}</field>` : ''}</PartnerFault></detail>` +
    '</soap:Fault></soap:Body></soap:Envelope>'
  );
}

/** What `soap` renders as a SOAP 1.1 fault when a service method throws it. */
function soapFault(err: unknown): { Fault: Record<string, unknown> } {
  const e = isDomainError(err) ? err : new DomainError('INTERNAL', 'internal error', { cause: err });
  const field = typeof e.details.field === 'string' ? e.details.field : undefined;
  return {
    Fault: {
      faultcode: `soap:${CLIENT_CODES.has(e.code) ? 'Client' : 'Server'}`,
      faultstring: e.code === 'INTERNAL' ? 'internal error' : e.message,
      detail: { PartnerFault: { code: e.code, ...(field ? { field } : {}) } },
      statusCode: e.code === 'UNAUTHENTICATED' ? 401 : 500,
    },
  };
}

/** `soap` turns xsd:int with parseInt ("12.5" → 12): only a canonical integer becomes a number. */
function strictInt(text: string): number | string {
  return /^[+-]?\d{1,10}$/.test(text) ? Number(text) : text;
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && '$value' in value) return String(value.$value);
  return undefined;
}

interface RequestScope {
  readonly basic?: { username: string; password: string };
}

function basicCredentials(header: string | undefined): { username: string; password: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Starts the gateway on 127.0.0.1:port (0: any free port). */
export async function startSoapBridge(
  opts: { port: number; host?: string },
  deps: SoapBridgeDeps,
): Promise<RunningSoapBridge> {
  const scope = new AsyncLocalStorage<RequestScope>();

  async function caller(headers: unknown): Promise<LegacyPartner> {
    const basic = scope.getStore()?.basic;
    if (basic) return deps.authenticate(basic.username, basic.password);
    const token = (headers as { Security?: { UsernameToken?: { Username?: unknown; Password?: unknown } } } | undefined)
      ?.Security?.UsernameToken;
    const username = text(token?.Username);
    const password = text(token?.Password);
    const type = (token?.Password as { attributes?: { Type?: unknown } } | undefined)?.attributes?.Type;
    if (type !== undefined && type !== PASSWORD_TEXT) {
      throw new DomainError('UNAUTHENTICATED', 'only PasswordText UsernameTokens are accepted');
    }
    if (username === undefined || password === undefined) {
      throw new DomainError('UNAUTHENTICATED', 'credentials required: HTTP Basic or a WS-Security UsernameToken');
    }
    return deps.authenticate(username, password);
  }

  const operation =
    <A>(run: (partner: LegacyPartner, args: A) => Promise<unknown>) =>
    async (args: A, _callback: unknown, headers: unknown) => {
      try {
        return await run(await caller(headers), args ?? ({} as A));
      } catch (err) {
        if (!isDomainError(err)) deps.log?.(`soap bridge: ${(err as Error)?.stack ?? err}`);
        throw soapFault(err);
      }
    };

  const services = {
    PartnerGatewayService: {
      PartnerGatewayPort: {
        UpdateStock: operation<Record<string, unknown>>(async (partner, a) =>
          updateStock({ stock: deps.stock }, partner, {
            updateId: a.updateId,
            productId: a.productId,
            quantityDelta: a.quantityDelta,
            reason: a.reason,
          }),
        ),
        GetOrderStatus: operation<Record<string, unknown>>(async (partner, a) => {
          const o = await orderStatus({ orders: deps.orders }, partner, a.orderId);
          return {
            orderId: o.orderId,
            status: o.status,
            updatedAt: o.updatedAt,
            ...(o.cancelReason ? { cancelReason: o.cancelReason } : {}),
          };
        }),
      },
    },
  };
  const soapServer: soap.Server = await new Promise((resolve, reject) => {
    const s = soap.listen(null, {
      path: SOAP_PARTNERS_PATH,
      services,
      xml: readFileSync(PARTNER_WSDL, 'utf8'),
      suppressStack: true,
      returnFault: true,
      // Not in IServerOptions' type, yet `soap` passes it to the WSDL parser that reads the request.
      customDeserializer: { int: strictInt },
      callback: (err: unknown) => (err ? reject(err) : resolve(s)),
    } as soap.IServerOptions);
  });
  const wsdlXml = readFileSync(PARTNER_WSDL, 'utf8');

  function reply(res: http.ServerResponse, status: number, body: string, extra: Record<string, string> = {}) {
    res.writeHead(status, { 'content-type': 'text/xml; charset=utf-8', ...extra });
    res.end(body);
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://gateway');
    if (url.pathname !== SOAP_PARTNERS_PATH)
      return reply(res, 404, faultEnvelope('NOT_FOUND', `no service at ${url.pathname}`));
    if (req.method === 'GET' && url.search.toLowerCase() === '?wsdl') return reply(res, 200, wsdlXml);
    if (req.method !== 'POST')
      return reply(res, 405, faultEnvelope('BAD_USER_INPUT', 'POST a SOAP envelope'), { allow: 'POST' });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_SOAP_BYTES) {
        res.setHeader('connection', 'close');
        return reply(res, 413, faultEnvelope('PAYLOAD_TOO_LARGE', `request larger than ${MAX_SOAP_BYTES} bytes`));
      }
      chunks.push(chunk);
    }
    const body = Buffer.concat(chunks);
    const refusal = screenXml(body);
    if (refusal) return reply(res, 500, faultEnvelope(refusal.code, refusal.reason));
    const authorization = req.headers.authorization;
    const basic = basicCredentials(authorization);
    if (authorization !== undefined && !basic) {
      return reply(res, 401, faultEnvelope('UNAUTHENTICATED', 'malformed Authorization header'), {
        'www-authenticate': 'Basic realm="meridian-partners"',
      });
    }
    const result = await scope.run(basic ? { basic } : {}, () =>
      soapServer.processRequest(body.toString('utf8'), {
        method: 'POST',
        url: SOAP_PARTNERS_PATH,
        headers: {
          'content-type': req.headers['content-type'] ?? 'text/xml',
          soapaction: req.headers.soapaction ?? '',
        },
      }),
    );
    // `soap` answers a body it cannot parse with a fault whose faultcode is "500": ours instead.
    if (/<faultcode>500<\/faultcode>/.test(result.body)) {
      return reply(res, 500, faultEnvelope('BAD_USER_INPUT', 'the request is not a well-formed SOAP envelope'));
    }
    const extra: Record<string, string> =
      result.statusCode === 401 ? { 'www-authenticate': 'Basic realm="meridian-partners"' } : {};
    reply(res, result.statusCode, result.body, extra);
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      deps.log?.(`soap bridge: ${(err as Error)?.stack ?? err}`);
      if (!res.headersSent) reply(res, 500, faultEnvelope('INTERNAL', 'internal error'));
      else res.destroy();
    });
  });
  traceServerRequests(server, 'meridian-soap-bridge');
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${SOAP_PARTNERS_PATH}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
