/**
 * The WebhookSender over node:http(s): one signed POST, its address checked at connect time by
 * the address policy (the same resolution the socket uses, so DNS cannot change in between),
 * within one deadline for the whole exchange, never following a redirect (node's client does not),
 * reading at most `maxResponseBytes` of the answer (a longer one cuts the connection).
 *
 * Standard Webhooks: "A recommended request timeout value for webhooks is somewhere between 15
 * and 30s"; "`3xx`: Failure. Following redirects causes unnecessary load".
 */
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { SendResult } from '../../domains/partners/attempt.ts';
import type { WebhookSender } from '../../domains/partners/ports.ts';
import { isDomainError } from '../../domains/shared/errors.ts';
import type { AddressPolicy } from './address-policy.ts';
import { webhookHeaders } from './webhook-signature.ts';

export interface HttpSenderOptions {
  readonly policy: AddressPolicy;
  /** Deadline of one attempt, connect to the last byte read. */
  readonly timeoutMs: number;
  /** How much of a response body is read (and kept in the attempt log). */
  readonly maxResponseBytes: number;
  readonly userAgent?: string;
}

export interface HttpWebhookSender extends WebhookSender {
  /** Closes idle keep-alive connections. */
  close(): void;
}

export function createHttpWebhookSender(opts: HttpSenderOptions): HttpWebhookSender {
  const agentOptions = { keepAlive: true, maxFreeSockets: 64, lookup: opts.policy.lookup };
  const agents = { 'http:': new http.Agent(agentOptions), 'https:': new https.Agent(agentOptions) };
  const userAgent = opts.userAgent ?? 'Meridian-Webhooks/1.0';

  async function send(request: Parameters<WebhookSender['send']>[0]): Promise<SendResult> {
    const started = performance.now();
    const latency = () => performance.now() - started;
    const url = new URL(request.url);
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    // An IP literal never goes through `lookup`: check it here.
    if (isIP(host) !== 0 && !opts.policy.allows(host)) {
      return { kind: 'error', error: `address not allowed: ${host} is internal`, latencyMs: latency() };
    }
    const body = Buffer.from(request.payload, 'utf8');
    const headers = {
      'content-type': 'application/json',
      'content-length': String(body.length),
      'user-agent': userAgent,
      ...webhookHeaders(request.secrets, request.messageId, request.at, request.payload),
    };
    const client = url.protocol === 'https:' ? https : http;
    const agent = agents[url.protocol as 'http:' | 'https:'];
    return new Promise<SendResult>((resolve) => {
      let settled = false;
      const finish = (result: SendResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        resolve(result);
      };
      const req = client.request(url, { method: 'POST', headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const answer = () =>
          finish({
            kind: 'response',
            status: res.statusCode ?? 0,
            retryAfter: res.headers['retry-after'] ?? null,
            body: Buffer.concat(chunks).toString('utf8').slice(0, opts.maxResponseBytes),
            latencyMs: latency(),
          });
        res.on('data', (chunk: Buffer) => {
          if (size >= opts.maxResponseBytes) return;
          chunks.push(chunk);
          size += chunk.length;
          // Enough read: drop the rest with the connection rather than read an unbounded body.
          if (size >= opts.maxResponseBytes) {
            answer();
            res.destroy();
          }
        });
        res.on('end', answer);
        res.on('error', () => answer());
      });
      const deadline = setTimeout(() => {
        finish({ kind: 'error', error: `no answer within ${opts.timeoutMs} ms`, latencyMs: latency() });
        req.destroy();
      }, opts.timeoutMs);
      req.on('error', (err) => {
        const reason = isDomainError(err, 'URL_NOT_ALLOWED') ? `address not allowed: ${err.message}` : err.message;
        finish({ kind: 'error', error: reason, latencyMs: latency() });
      });
      req.end(body);
    });
  }

  return {
    send,
    close() {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}
