/**
 * Keeping one device's telemetry in order on its way into Kafka.
 *
 * A device numbers its telemetry messages 0, 1, 2… (`seq`, one per message, kept across
 * reboots). The broker hands a shared subscription's messages to its members in turn, so
 * consecutive messages of one device reach different bridge connections, even different
 * bridge processes, and a member that is killed holds its share until it comes back. Kafka
 * keeps a device's order only if the bridge produces `seq` n+1 after n. So the bridges share a
 * small per-device state (the gate) and each message is decided:
 *
 * - `go`: the next one (`last + 1`), or a gap the device's refused, unreadable messages fill
 *   (`holes`): produce it.
 * - `wait`: a gap; its predecessor is somewhere in the system (another bridge, a session of a
 *   killed bridge). Ask again shortly. After `gapWaitMs` of waiting while Kafka is up, the bridge
 *   gives up on the missing numbers (`skipTo`): they count as `late` if they ever come.
 * - `duplicate`: already produced (a broker redelivery, or the device resending what the broker
 *   did not acknowledge): acknowledge without producing.
 * - `late`: a number given up on, arriving after all: produce it (out of order, never lost).
 * - `backwards`: a number at or below `last` with other content: the device went backwards;
 *   dead-letter it and tell the device.
 *
 * A device new to the region is expected to start at 0; if its first message here is higher (it
 * failed over from the other region), that one waits FIRST_SIGHT_WAIT_MS for lower numbers, then
 * starts the sequence. `last` moves only once a message is in Kafka (or dead-lettered): `settle`. This module is the
 * reference; the Redis gate (infra/iot/sequence-gate.redis.ts) applies the same rules atomically
 * across processes and is held to the same contract suite.
 */

export type SequenceDecision = 'go' | 'wait' | 'duplicate' | 'late' | 'backwards';

/** One telemetry message as the gate sees it. */
export interface SequenceItem {
  /** The device's MQTT id. */
  readonly key: string;
  readonly seq: number;
  /** A hash of the payload: tells a repeat from a different message with a reused number. */
  readonly hash: string;
  /** The broker redelivered it (MQTT DUP flag on the bridge's session): it was handed out before. */
  readonly redelivered: boolean;
}

/** One device's gate state. */
export interface SequenceState {
  /** Highest number settled; everything at or below it is settled, skipped or a hole. */
  last: number;
  /** Refused messages whose number could not be read: each may fill one gap. */
  holes: number;
  /** When this region first saw the device (ms): the first messages may still cross. */
  firstAt: number;
  /** Nothing settled or skipped yet: the device is expected to start at 0 here. */
  fresh: boolean;
  /** Numbers given up on (`skipTo`); produced as `late` if they come. */
  readonly skipped: Set<number>;
  /** Payload hashes of the last HASH_WINDOW settled numbers. */
  readonly hashes: Map<number, string>;
}

/** How many settled payload hashes the gate keeps per device (a device resends only its in-flight window). */
export const HASH_WINDOW = 128;
/** The most numbers one `skipTo` records as skipped; a larger jump skips without a record. */
export const MAX_SKIPPED = 1000;
/** How long after the first sight a number below `last` is taken as late rather than backwards. */
export const FIRST_SIGHT_GRACE_MS = 10_000;
/**
 * How long a device new to this region waits for its number 0 (its first messages may cross
 * between bridges) before it starts where it is: a device failing over from the other region, or
 * back after its state expired, starts above 0.
 */
export const FIRST_SIGHT_WAIT_MS = 2000;

/** A device new to this region: expected to start at 0. */
export function firstSight(now: number): SequenceState {
  return { last: -1, holes: 0, firstAt: now, fresh: true, skipped: new Set(), hashes: new Map() };
}

/** Marks the numbers between `last` and `seq` as skipped (late if they come) and moves `last` to `seq - 1`. */
function jump(state: SequenceState, from: number, seq: number): void {
  if (seq - from - 1 <= MAX_SKIPPED) for (let n = from + 1; n < seq; n++) state.skipped.add(n);
  state.last = Math.max(state.last, seq - 1);
  state.fresh = false;
}

/**
 * Decides a batch of messages in order, as one atomic step: a `go` counts as settled for the
 * messages after it in the same batch (the bridge produces a batch in order), so consecutive
 * numbers in one batch all go. Mutates `states` (first sights, holes used); `last` moves only in `settle`.
 *
 * `inFlight`: numbers an earlier call let go (or refused) that are being produced now, not settled
 * yet (the bridge decides its next batch while Kafka takes the last one). They count as settled
 * for this batch, but nothing of their devices' state changes: a decision that would change it (a
 * gap filled by holes, a first sight's start) waits for the settle instead. Should they never
 * reach Kafka, nothing was recorded on their behalf.
 */
export function decide(
  states: Map<string, SequenceState>,
  items: readonly SequenceItem[],
  now: number,
  inFlight: readonly Omit<SequenceItem, 'redelivered'>[] = [],
): SequenceDecision[] {
  const tentative = new Map<string, number>();
  const goneHashes = new Map<string, string>();
  /** Devices with numbers in flight: their state is read, never written. */
  const speculative = new Map<string, SequenceState>();
  for (const i of inFlight) {
    const state = states.get(i.key) ?? speculative.get(i.key) ?? firstSight(now);
    speculative.set(i.key, state);
    if (i.seq > (tentative.get(i.key) ?? state.last)) tentative.set(i.key, i.seq);
    goneHashes.set(`${i.key} ${i.seq}`, i.hash);
  }
  const go = (item: SequenceItem): SequenceDecision => {
    tentative.set(item.key, item.seq);
    goneHashes.set(`${item.key} ${item.seq}`, item.hash);
    return 'go';
  };
  return items.map((item) => {
    let state = speculative.get(item.key) ?? states.get(item.key);
    if (!state) {
      state = firstSight(now);
      states.set(item.key, state);
    }
    const last = tentative.get(item.key) ?? state.last;
    if (item.seq === last + 1) return go(item);
    if (item.seq > last + 1) {
      if (speculative.has(item.key)) return 'wait';
      const gap = item.seq - last - 1;
      if (state.holes >= gap) {
        // The refused messages were (we take it) these numbers; should one come after all, it is late.
        state.holes -= gap;
        jump(state, last, item.seq);
        return go(item);
      }
      if (state.fresh && now - state.firstAt >= FIRST_SIGHT_WAIT_MS) {
        jump(state, last, item.seq);
        return go(item);
      }
      return 'wait';
    }
    if (state.skipped.has(item.seq)) return 'late';
    if (item.redelivered) return 'duplicate';
    const known = goneHashes.get(`${item.key} ${item.seq}`) ?? state.hashes.get(item.seq);
    if (known === item.hash) return 'duplicate';
    if (known === undefined && now - state.firstAt < FIRST_SIGHT_GRACE_MS) return 'late';
    return 'backwards';
  });
}

/** Records messages as in Kafka or dead-lettered: `last` moves up, late ones leave `skipped`. */
export function settle(states: Map<string, SequenceState>, items: readonly Omit<SequenceItem, 'redelivered'>[]): void {
  for (const item of items) {
    const state = states.get(item.key);
    if (!state) continue;
    if (item.seq > state.last) state.last = item.seq;
    state.fresh = false;
    state.skipped.delete(item.seq);
    state.hashes.set(item.seq, item.hash);
    state.hashes.delete(item.seq - HASH_WINDOW);
  }
}

/** Gives up waiting for the numbers before `seq`: they become skipped, `last` becomes `seq - 1`. */
export function skipTo(states: Map<string, SequenceState>, key: string, seq: number): void {
  const state = states.get(key);
  if (!state || seq - 1 <= state.last) return;
  jump(state, state.last, seq);
}

/** A refused message without a readable number: it may fill one gap of its device. */
export function hole(states: Map<string, SequenceState>, key: string): void {
  const state = states.get(key);
  if (state) state.holes++;
}
