import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rejectsWith } from '../shared/testing.ts';
import { isSuccess, judgeAttempt } from './attempt.ts';
import {
  MAX_RETRY_AFTER_MS,
  nextDelay,
  parseDuration,
  parseRetryAfter,
  parseSchedule,
  SVIX_SCHEDULE,
} from './retry.ts';

const half = () => 0.5;

describe('retry schedule', () => {
  it("parses Svix's schedule: 8 attempts, immediately then 5 s … 10 h", () => {
    assert.deepEqual(
      parseSchedule(SVIX_SCHEDULE).delaysMs,
      [0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000],
    );
    assert.deepEqual(parseSchedule('0, 200ms, 1s').delaysMs, [0, 200, 1000]);
    assert.equal(parseDuration('5d'), 432_000_000);
    assert.throws(() => parseSchedule('0,soon'), rejectsWith('BAD_USER_INPUT'));
    assert.throws(() => parseSchedule(Array(51).fill('1s').join(',')), rejectsWith('BAD_USER_INPUT'));
  });

  it('Retry-After as delay-seconds or HTTP-date (RFC 9110 §10.2.3); junk is ignored', () => {
    const now = Date.parse('2030-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('120', now), 120_000);
    assert.equal(parseRetryAfter('Tue, 01 Jan 2030 00:00:30 GMT', now), 30_000);
    assert.equal(parseRetryAfter('Mon, 31 Dec 2029 00:00:00 GMT', now), 0, 'a date in the past: now');
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(null, now), undefined);
  });

  it('the next delay follows the schedule with ±10% jitter from 1 s up; none after the last', () => {
    const s = parseSchedule('0,200ms,10s');
    assert.equal(
      nextDelay(s, 1, undefined, () => 0.99),
      200,
      'sub-second delays are exact',
    );
    assert.equal(
      nextDelay(s, 2, undefined, () => 0),
      9000,
    );
    assert.equal(
      nextDelay(s, 2, undefined, () => 1),
      11000,
    );
    assert.equal(nextDelay(s, 3, undefined, half), undefined);
  });

  it('a longer Retry-After wins, capped; a shorter one does not hasten the schedule', () => {
    const s = parseSchedule('0,200ms,10s');
    assert.equal(nextDelay(s, 1, 3000, half), 3000);
    assert.equal(nextDelay(s, 2, 1000, half), 10_000);
    assert.equal(nextDelay(s, 1, 10 * MAX_RETRY_AFTER_MS, half), MAX_RETRY_AFTER_MS);
  });
});

describe('attempt verdicts (Standard Webhooks: only 2xx succeeds, 3xx fails, 410 disables)', () => {
  const s = parseSchedule('0,200ms,400ms');
  const now = Date.parse('2030-01-01T00:00:00Z');
  const response = (status: number, retryAfter?: string) => ({
    kind: 'response' as const,
    status,
    retryAfter,
    latencyMs: 3,
  });

  it('every 2xx is success; 1xx, 3xx, 4xx, 5xx and no answer are not', () => {
    for (const status of [200, 201, 202, 204, 299]) assert.equal(isSuccess(response(status)), true, String(status));
    for (const status of [100, 301, 302, 304, 307, 308, 400, 404, 429, 500, 503]) {
      assert.equal(isSuccess(response(status)), false, String(status));
    }
    assert.equal(isSuccess({ kind: 'error', error: 'timeout', latencyMs: 1 }), false);
  });

  it('a redirect is retried like any failure (never followed)', () => {
    assert.deepEqual(judgeAttempt(s, 1, response(302), now, half), {
      success: false,
      gone: false,
      status: 'PENDING',
      retryInMs: 200,
      exhausted: false,
    });
  });

  it('410 fails the delivery and marks the endpoint gone, without a retry', () => {
    assert.deepEqual(judgeAttempt(s, 1, response(410), now, half), {
      success: false,
      gone: true,
      status: 'FAILED',
      exhausted: false,
    });
  });

  it('503 with Retry-After waits as asked; the last attempt failing exhausts the message', () => {
    assert.equal(judgeAttempt(s, 1, response(503, '2'), now, half).retryInMs, 2000);
    assert.deepEqual(judgeAttempt(s, 3, response(500), now, half), {
      success: false,
      gone: false,
      status: 'FAILED',
      exhausted: true,
    });
    assert.equal(judgeAttempt(s, 3, response(204), now, half).status, 'DELIVERED');
  });
});
