/**
 * When Kafka (or Redis) was last seen away, for the bridge's wait on a missing predecessor: that
 * wait only counts time in which Kafka answered, since a predecessor held by another bridge cannot
 * reach Kafka while it is away, and after it is back that bridge still needs a moment to send.
 *
 * Failures the pipeline meets are reported with `saw()`. They are not enough: a bridge waiting on
 * another may have nothing of its own to send, or a send of its own may hang until Kafka is back
 * and then succeed. So while a message has waited longer than usual (`needed()`), Kafka is asked
 * every `everyMs`, one question at a time, and each unanswered one counts as a failure. The wait
 * then runs from the end of the outage, not from the first look at it.
 */
export interface TroubleWatch {
  /** Last time a failure was seen (0: never). */
  readonly troubleAt: number;
  /** A failure seen now. */
  saw(): void;
  stop(): void;
}

export interface TroubleWatchOptions {
  /** Whether Kafka answers now (bounded in time by the caller). */
  readonly answers: () => Promise<boolean>;
  /** Whether anything waits long enough to watch for. */
  readonly needed: () => boolean;
  readonly everyMs?: number;
}

export function watchTrouble(options: TroubleWatchOptions): TroubleWatch {
  const everyMs = options.everyMs ?? 1000;
  let troubleAt = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  async function look() {
    timer = undefined;
    if (stopped) return;
    if (options.needed()) {
      const ok = await options.answers().catch(() => false);
      if (!ok) troubleAt = Date.now();
    }
    if (!stopped) {
      timer = setTimeout(look, everyMs);
      timer.unref?.();
    }
  }
  timer = setTimeout(look, everyMs);
  timer.unref?.();

  return {
    get troubleAt() {
      return troubleAt;
    },
    saw() {
      troubleAt = Date.now();
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
