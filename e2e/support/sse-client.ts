/** Reads a text/event-stream response incrementally (WHATWG HTML §9.2 framing). */
export interface SseFrame {
  readonly id?: string;
  readonly event?: string;
  readonly data: string;
}

export interface SseStream {
  readonly status: number;
  /** Resolves with the next frame that matches, or rejects after `ms`. */
  next(match?: (f: SseFrame) => boolean, ms?: number): Promise<SseFrame>;
  close(): void;
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const frames: SseFrame[] = [];
  const waiters: Array<() => void> = [];
  let ended = false;
  if (res.ok && res.body) {
    (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          let cut = buffer.indexOf('\n\n');
          while (cut >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            const frame: { id?: string; event?: string; data: string[] } = { data: [] };
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) continue;
              const i = line.indexOf(':');
              const field = i < 0 ? line : line.slice(0, i);
              const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
              if (field === 'data') frame.data.push(value);
              else if (field === 'id') frame.id = value;
              else if (field === 'event') frame.event = value;
            }
            if (frame.data.length) frames.push({ id: frame.id, event: frame.event, data: frame.data.join('\n') });
            cut = buffer.indexOf('\n\n');
          }
          for (const w of waiters.splice(0)) w();
        }
      } catch {
        // aborted
      } finally {
        ended = true;
        for (const w of waiters.splice(0)) w();
      }
    })();
  }
  return {
    status: res.status,
    async next(match = () => true, ms = 10_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const i = frames.findIndex(match);
        if (i >= 0) return frames.splice(i, 1)[0] as SseFrame;
        if (ended) throw new Error('stream ended');
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no matching SSE frame within ${ms} ms`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
    },
    close() {
      abort.abort();
    },
  };
}
