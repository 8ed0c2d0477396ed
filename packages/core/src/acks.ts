import { setTimeout as sleep } from 'node:timers/promises';
import { isStreamerError, StreamerError } from './errors.js';
import { backoffDelay } from './timers.js';
import type { AutoCommit, MessageHeader } from './types.js';

export type CommitFn<Ack> = (acked: Ack[]) => Promise<void>;

export interface AckTrackerOptions {
  /**
   * How long a commit keeps retrying retriable failures (a lost connection) before it fails.
   * Default 30000; 0 tries once.
   */
  timeoutMs?: number;
  /** A timed commit failed; its acks are kept and retried by the next commit. */
  onTimedFailure?: (error: unknown) => void;
  /** A commit of `count` acks, asked for at `startedAt` (performance.now()), finished or failed for good. */
  onCommitted?: (count: number, startedAt: number, error: unknown) => void;
}

/**
 * Retries of a commit start at 100 ms and grow to at most 1 s: a commit on a connection that is
 * down fails at once, so retries cost nothing, and a short cap commits soon after it is back.
 */
const RETRY = { initialMs: 100, maxMs: 1000 };

/**
 * The autoCommit policy of a group consumer, shared by every backend:
 * - `immediate`: a message is acked when `next()` hands it out (under a run: when its handler
 *   resolves), and committed at once: the acks of one turn of the event loop in one commit.
 * - `delayed`: a message is acked when `next()` hands it out (under a run: when its handler
 *   resolves), and committed once it is `delayMs` old, checked every `intervalMs`.
 * - `rolling`: only `ack()`ed messages are committed, every `intervalMs`; manual commit() is refused.
 * - `disabled`: only `ack()` and `commit()`.
 * `end()` commits every ack, however young (SeaStreamer leaves young ones unacked).
 *
 * A commit that fails with a retriable StreamerError is retried with backoff until `timeoutMs`
 * after it was asked for; its acks are kept meanwhile. A failed commit's acks stay first in line,
 * so every later commit covers them: commit() and end() reject only when what they cover could
 * not be committed, never for a failure a later commit repaired.
 */
export class AckTracker<Ack> {
  readonly #mode: AutoCommit;
  readonly #delayMs: number;
  readonly #refOf: (message: MessageHeader) => Ack;
  readonly #commitFn: CommitFn<Ack>;
  readonly #timeoutMs: number;
  readonly #onTimedFailure: (error: unknown) => void;
  readonly #onCommitted: ((count: number, startedAt: number, error: unknown) => void) | undefined;
  /** Aborted by giveUp(): a commit stops waiting for the backend to come back. */
  readonly #giveUp = new AbortController();
  /** What commit needs of each acked message, and when it was acked, as parallel arrays. */
  #acked: Ack[] = [];
  #ackedAt: number[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #committing: Promise<void> = Promise.resolve();
  /** A timed commit is queued or running: ticks meanwhile would only queue up behind it. */
  #timedBusy = false;
  /** 'immediate': a commit of what was acked this turn is scheduled. */
  #soon = false;
  /**
   * A run() is handing the messages out: it acks each one when its handler resolves, so
   * 'delayed' and 'immediate' stop acking on delivery (a message handed to a handler is not
   * done yet).
   */
  running = false;

  constructor(
    mode: AutoCommit,
    delayMs: number,
    intervalMs: number,
    refOf: (message: MessageHeader) => Ack,
    commit: CommitFn<Ack>,
    options: AckTrackerOptions = {},
  ) {
    this.#mode = mode;
    this.#delayMs = delayMs;
    this.#refOf = refOf;
    this.#commitFn = commit;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#onTimedFailure = options.onTimedFailure ?? (() => {});
    this.#onCommitted = options.onCommitted;
    if (mode === 'delayed' || mode === 'rolling') {
      this.#timer = setInterval(() => this.#auto(), Math.max(intervalMs, 1));
      this.#timer.unref?.();
    }
  }

  /** next() handed this message out. */
  delivered(header: MessageHeader): void {
    if (this.running || !this.#acksOnDelivery) return;
    this.#push(header);
  }

  ack(header: MessageHeader): void {
    if (this.#acksOnDelivery && !this.running) return; // acked on delivery already
    this.#push(header);
  }

  get #acksOnDelivery(): boolean {
    return this.#mode === 'delayed' || this.#mode === 'immediate';
  }

  #push(header: MessageHeader): void {
    this.#acked.push(this.#refOf(header));
    this.#ackedAt.push(Date.now());
    if (this.#mode === 'immediate') this.#commitSoon();
  }

  /**
   * One commit for every ack of this turn, not one per message. Nobody awaits it: a failure
   * goes to onTimedFailure after the retries of `timeoutMs`, and its acks stay for the next.
   */
  #commitSoon(): void {
    if (this.#soon) return;
    this.#soon = true;
    setImmediate(() => {
      this.#soon = false;
      this.#commitUpTo(Number.POSITIVE_INFINITY, false).catch(this.#onTimedFailure);
    });
  }

  /** A manual commit(): everything acked so far. */
  commit(): Promise<void> {
    if (this.#mode === 'rolling') {
      return Promise.reject(
        new StreamerError(
          'UNSUPPORTED',
          "commit() is not allowed with autoCommit 'rolling': acks are committed for you",
        ),
      );
    }
    return this.#commitUpTo(Number.POSITIVE_INFINITY, true);
  }

  /** Commits every ack now, whatever the mode: a run's stop(), which 'rolling' allows too. */
  flush(): Promise<void> {
    return this.#commitUpTo(Number.POSITIVE_INFINITY, true);
  }

  /** Stops the timer and commits every ack. */
  end(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    return this.#commitUpTo(Number.POSITIVE_INFINITY, true);
  }

  /**
   * Commits stop retrying: one waiting for the backend fails with its last error (the attempt
   * in flight, if any, still finishes). For a streamer that disconnects, so nothing waits for a
   * backend that is gone.
   */
  giveUp(): void {
    this.#giveUp.abort();
  }

  #auto(): void {
    if (this.#timedBusy) return;
    this.#timedBusy = true;
    const cutoff = this.#mode === 'delayed' ? Date.now() - this.#delayMs : Number.POSITIVE_INFINITY;
    // Nobody awaits a timed commit: its failure goes to onTimedFailure, its acks stay for the next.
    this.#commitUpTo(cutoff, false)
      .catch(this.#onTimedFailure)
      .finally(() => {
        this.#timedBusy = false;
      });
  }

  /** `awaited`: someone waits for this commit, so its retries keep the process alive. */
  #commitUpTo(cutoff: number, awaited: boolean): Promise<void> {
    const deadline = Date.now() + this.#timeoutMs;
    // Commits run one at a time so a slow one never overlaps the next.
    const run = this.#committing.then(async () => {
      let n = 0;
      while (n < this.#ackedAt.length && this.#ackedAt[n] <= cutoff) n++;
      if (n === 0) return;
      const batch = this.#acked.splice(0, n);
      const at = this.#ackedAt.splice(0, n);
      const startedAt = performance.now();
      try {
        await this.#commitRetrying(batch, deadline, awaited);
        this.#onCommitted?.(n, startedAt, undefined);
      } catch (error) {
        this.#onCommitted?.(n, startedAt, error);
        // Keep them, first in line, for the next commit.
        this.#acked = batch.concat(this.#acked);
        this.#ackedAt = at.concat(this.#ackedAt);
        throw error;
      }
    });
    this.#committing = run.catch(() => {});
    return run;
  }

  async #commitRetrying(batch: Ack[], deadline: number, awaited: boolean): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#commitFn(batch);
      } catch (error) {
        const left = deadline - Date.now();
        const retriable = isStreamerError(error) && error.retriable;
        if (!retriable || this.#giveUp.signal.aborted || left <= 0) throw error;
        // The last try is at the deadline.
        const delay = Math.min(backoffDelay(attempt, RETRY), left);
        await sleep(delay, undefined, { signal: this.#giveUp.signal, ref: awaited }).catch(() => {
          throw error;
        });
      }
    }
  }
}
