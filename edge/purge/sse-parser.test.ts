import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSseParser, type SseEvent } from './sse-parser.ts';

/** Parses `chunks` in order; returns the events, retries and final last event ID. */
function parse(chunks: string[], lastEventId = '') {
  const events: SseEvent[] = [];
  const retries: number[] = [];
  const parser = createSseParser({ onEvent: (e) => events.push(e), onRetry: (ms) => retries.push(ms) }, lastEventId);
  for (const chunk of chunks) parser.push(chunk);
  parser.end();
  return { events, retries, lastEventId: parser.lastEventId };
}

const brief = (events: SseEvent[]) => events.map((e) => [e.type, e.data, e.lastEventId]);

describe('SSE parser (WHATWG examples and rules)', () => {
  it('joins data lines with LF (the stock-ticker example)', () => {
    const { events } = parse(['data: YHOO\ndata: +2\ndata: 10\n\n']);
    assert.deepEqual(brief(events), [['message', 'YHOO\n+2\n10', '']]);
  });

  it('comments, id reset by an empty id, one leading space stripped (the four-block example)', () => {
    const { events, lastEventId } = parse([
      ': test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n',
    ]);
    assert.deepEqual(brief(events), [
      ['message', 'first event', '1'],
      ['message', 'second event', ''],
      ['message', ' third event', ''],
    ]);
    assert.equal(lastEventId, '');
  });

  it('empty data lines and an unterminated last block (the "data" example)', () => {
    const { events } = parse(['data\n\ndata\ndata\n\ndata:']);
    assert.deepEqual(
      events.map((e) => e.data),
      ['', '\n'],
    );
  });

  it('"data:test" and "data: test" are the same', () => {
    const { events } = parse(['data:test\n\ndata: test\n\n']);
    assert.deepEqual(
      events.map((e) => e.data),
      ['test', 'test'],
    );
  });

  it('reads event types, ids and retry; ignores unknown fields and non-digit retry', () => {
    const { events, retries, lastEventId } = parse([
      'retry: 2000\nretry: 2s\nfoo: bar\nid: e1\nevent: purge\ndata: {"tags":["Product:1"]}\n\n',
    ]);
    assert.deepEqual(brief(events), [['purge', '{"tags":["Product:1"]}', 'e1']]);
    assert.equal(events[0]?.hasOwnId, true);
    assert.deepEqual(retries, [2000]);
    assert.equal(lastEventId, 'e1');
  });

  it('an id containing NUL is ignored', () => {
    const { events } = parse(['id: ok\ndata: a\n\nid: b\0d\ndata: b\n\n']);
    assert.deepEqual(
      events.map((e) => [e.lastEventId, e.hasOwnId]),
      [
        ['ok', true],
        ['ok', false],
      ],
    );
  });

  it('an event without id carries the previous id but is marked as not its own', () => {
    const { events } = parse(['id: 7\ndata: a\n\ndata: b\n\n'], '');
    assert.deepEqual(
      events.map((e) => [e.data, e.lastEventId, e.hasOwnId]),
      [
        ['a', '7', true],
        ['b', '7', false],
      ],
    );
  });

  it('accepts CRLF, CR and LF line ends, also split across chunks', () => {
    const crlf = parse(['id: 1\r\ndata: a\r', '\n\r\n']);
    assert.deepEqual(brief(crlf.events), [['message', 'a', '1']]);
    const cr = parse(['data: b\rdata: c\r\r']);
    assert.deepEqual(brief(cr.events), [['message', 'b\nc', '']]);
    const bytewise = parse([...'event: x\ndata: 1\n\n']);
    assert.deepEqual(brief(bytewise.events), [['x', '1', '']]);
  });

  it('discards an incomplete event at the end, including its id', () => {
    const { events, lastEventId } = parse(['id: 1\ndata: a\n\nid: 2\ndata: b\n'], '');
    assert.deepEqual(brief(events), [['message', 'a', '1']]);
    assert.equal(lastEventId, '1', 'resume from the last dispatched event');
  });

  it('an id-only block updates the last event ID without dispatching', () => {
    const { events, lastEventId } = parse(['id: 9\n\n'], 'start');
    assert.deepEqual(events, []);
    assert.equal(lastEventId, '9');
  });

  it('starts from the given last event ID', () => {
    const { events } = parse(['data: x\n\n'], 'e5');
    assert.equal(events[0]?.lastEventId, 'e5');
    assert.equal(events[0]?.hasOwnId, false);
  });
});
