/**
 * An event-stream parser per the WHATWG HTML Standard, "9.2.6 Interpreting an event stream",
 * for clients that read SSE with fetch (no EventSource outside browsers). Input is text
 * already decoded as UTF-8 ("Streams must be decoded using the UTF-8 decode algorithm" —
 * TextDecoder does that and strips a leading BOM).
 *
 * - Lines: "Lines must be separated by either a U+000D CARRIAGE RETURN U+000A LINE FEED (CRLF)
 *   character pair, a single U+000A LINE FEED (LF) character, or a single U+000D CARRIAGE
 *   RETURN (CR) character."
 * - "If the line is empty (a blank line): Dispatch the event."
 * - "If the line starts with a U+003A COLON character (:): Ignore the line."
 * - "If the line contains a U+003A COLON character: Collect the characters on the line before
 *   the first U+003A COLON character, and let field be that string. Collect the characters on
 *   the line after the first U+003A COLON character, and let value be that string. If value
 *   starts with a U+0020 SPACE character, remove it from value."
 * - "Otherwise, the string is not empty but does not contain a U+003A COLON character: Process
 *   the field using the steps described below, using the whole line as the field name, and the
 *   empty string as the field value."
 * - "event": "Set the event type buffer to the field value."
 * - "data": "Append the field value to the data buffer, then append a single U+000A LINE FEED
 *   (LF) character to the data buffer."
 * - "id": "If the field value does not contain U+0000 NULL, then set the last event ID buffer
 *   to the field value. Otherwise, ignore the field."
 * - "retry": "If the field value consists of only ASCII digits, then interpret the field value
 *   as an integer in base ten, and set the event stream's reconnection time to that integer."
 * - Dispatch: "Set the last event ID string of the event source to the value of the last event
 *   ID buffer. [...] If the data buffer is an empty string, set the data buffer and the event
 *   type buffer to the empty string and return. If the data buffer's last character is a
 *   U+000A LINE FEED (LF) character, then remove the last character from the data buffer."
 *   The type is "message" when the event type buffer is empty.
 * - "Once the end of the file is reached, any pending data must be discarded. (If the file ends
 *   in the middle of an event, before the final empty line, the incomplete event is not dispatched.)"
 */

/** One dispatched event. */
export interface SseEvent {
  /** The event type; "message" when the stream named none. */
  readonly type: string;
  readonly data: string;
  /** The last event ID at dispatch (carried over from earlier events when this one had no `id:`). */
  readonly lastEventId: string;
  /** Whether this event carried its own `id:` field (only then is lastEventId its identity). */
  readonly hasOwnId: boolean;
}

/** Callbacks of createSseParser. */
export interface SseParserHandlers {
  onEvent(event: SseEvent): void;
  onRetry?(ms: number): void;
}

/** An incremental parser: feed decoded text in any chunking; `lastEventId` is what to resume from. */
export interface SseParser {
  push(text: string): void;
  /** The end of the stream: discards an incomplete event. */
  end(): void;
  readonly lastEventId: string;
}

/** Creates a parser whose last event ID starts at `lastEventId` (the one sent as Last-Event-ID). */
export function createSseParser(handlers: SseParserHandlers, lastEventId = ''): SseParser {
  let pending = '';
  /** The previous chunk ended in CR: an LF starting the next chunk belongs to that CRLF. */
  let skipLeadingLf = false;
  let data = '';
  let type = '';
  let idBuffer = lastEventId;
  let dispatchedId = lastEventId;
  let ownId = false;

  function dispatch(): void {
    dispatchedId = idBuffer;
    const hadOwnId = ownId;
    ownId = false;
    if (data === '') {
      type = '';
      return;
    }
    const event: SseEvent = {
      type: type === '' ? 'message' : type,
      data: data.endsWith('\n') ? data.slice(0, -1) : data,
      lastEventId: idBuffer,
      hasOwnId: hadOwnId,
    };
    data = '';
    type = '';
    handlers.onEvent(event);
  }

  function line(text: string): void {
    if (text === '') {
      dispatch();
      return;
    }
    if (text.startsWith(':')) return;
    const colon = text.indexOf(':');
    const field = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        type = value;
        return;
      case 'data':
        data += `${value}\n`;
        return;
      case 'id':
        if (!value.includes('\0')) {
          idBuffer = value;
          ownId = true;
        }
        return;
      case 'retry':
        if (/^[0-9]+$/.test(value)) handlers.onRetry?.(Number.parseInt(value, 10));
        return;
      default:
        return; // "Otherwise: The field is ignored."
    }
  }

  return {
    push(text) {
      let chunk = text;
      if (skipLeadingLf && chunk.startsWith('\n')) chunk = chunk.slice(1);
      skipLeadingLf = false;
      pending += chunk;
      let start = 0;
      for (let i = 0; i < pending.length; i += 1) {
        const ch = pending.charCodeAt(i);
        if (ch !== 10 && ch !== 13) continue;
        line(pending.slice(start, i));
        if (ch === 13) {
          if (i + 1 === pending.length) skipLeadingLf = true;
          else if (pending.charCodeAt(i + 1) === 10) i += 1;
        }
        start = i + 1;
      }
      pending = pending.slice(start);
    },
    end() {
      pending = '';
      data = '';
      type = '';
      ownId = false;
      skipLeadingLf = false;
      // An id of an event that never completed was never dispatched, so it is not a resume point.
      idBuffer = dispatchedId;
    },
    get lastEventId() {
      return dispatchedId;
    },
  };
}
