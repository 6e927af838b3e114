import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withTelemetry } from './context.ts';
import { createLogger, maskString, redact } from './logger.ts';

const JWT = 'eyJhbGciOiJFUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJ1MSIsInRlbmFudCI6InQxIn0.c2lnbmF0dXJlLWJ5dGVzLWhlcmU';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    service: 'test',
    write: (l) => lines.push(JSON.parse(l)),
    now: () => new Date('2026-11-30T00:00:00Z'),
  });
  return { lines, logger };
}

describe('structured logs', () => {
  it('one JSON object per line, with the trace and span ids of the active context', async () => {
    const { lines, logger } = capture();
    await withTelemetry(
      { traceparent: '00-0123456789abcdef0123456789abcdef-0123456789abcdef-01', correlationId: 'c-9' },
      async () => logger.info('order placed', { orderId: 'o-1' }),
    );
    const [line] = lines;
    assert.equal(line?.message, 'order placed');
    assert.equal(line?.level, 'info');
    assert.equal(line?.service, 'test');
    assert.equal(line?.time, '2026-11-30T00:00:00.000Z');
    assert.equal(line?.orderId, 'o-1');
    assert.equal(line?.trace_id, '0123456789abcdef0123456789abcdef');
    assert.match(String(line?.span_id), /^[0-9a-f]{16}$/);
    assert.equal(line?.correlation_id, 'c-9');
  });

  it('never writes a token or secret, by field name or by shape', () => {
    const { lines, logger } = capture();
    logger.warn(`auth failed for Bearer ${JWT}`, {
      authorization: `Bearer ${JWT}`,
      nested: { accessToken: 'abc', note: `token=${JWT}`, url: 'amqp://partner:s3cret@127.0.0.1:45672/east' },
      secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      body: 'signed with whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      error: new Error(`bad token ${JWT}`),
    });
    const text = JSON.stringify(lines);
    assert.doesNotMatch(text, /eyJ[A-Za-z0-9_-]{5,}\./);
    assert.doesNotMatch(text, /whsec_Mf/);
    assert.doesNotMatch(text, /s3cret/);
    assert.equal(lines[0]?.authorization, '[masked]');
    assert.deepEqual((lines[0]?.error as { message?: string } | undefined)?.message, 'bad token [masked]');
    assert.equal(maskString('Basic dXNlcjpwYXNz'), 'Basic [masked]');
    assert.deepEqual(redact({ password: 'p', list: ['Bearer x'] }), {
      password: '[masked]',
      list: ['Bearer [masked]'],
    });
  });

  it('drops lines below the level, and child loggers add their fields', () => {
    const lines: string[] = [];
    const logger = createLogger({ service: 's', level: 'warn', write: (l) => lines.push(l) });
    logger.info('quiet');
    logger.child({ region: 'east' }).error('loud');
    assert.equal(lines.length, 1);
    assert.equal(JSON.parse(lines[0] as string).region, 'east');
  });
});
