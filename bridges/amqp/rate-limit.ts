/**
 * A token bucket per partner: `rate` messages per second, bursts of up to one second's worth.
 * `take()` resolves when the caller may go, in call order — the bridge waits before handling a
 * partner's next message, so an over-eager partner is slowed (its messages wait in its own queue
 * at the broker), never dropped, and never slows another partner.
 */
export interface TokenBucket {
  take(): Promise<void>;
}

export function tokenBucket(rate: number, now: () => number = () => performance.now()): TokenBucket {
  const burst = Math.max(1, rate);
  let tokens = burst;
  let last = now();
  let chain = Promise.resolve();
  const refill = () => {
    const t = now();
    tokens = Math.min(burst, tokens + ((t - last) / 1000) * rate);
    last = t;
  };
  return {
    take() {
      chain = chain.then(async () => {
        refill();
        if (tokens < 1) {
          await new Promise((r) => setTimeout(r, ((1 - tokens) / rate) * 1000));
          refill();
        }
        tokens -= 1;
      });
      return chain;
    },
  };
}
