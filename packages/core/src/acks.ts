import { StreamerError } from './errors.js';
import type { AutoCommit, MessageHeader } from './types.js';

export type CommitFn<Ack> = (acked: Ack[]) => Promise<void>;

/**
 * The autoCommit policy of a group consumer, shared by every backend:
 * - `immediate`: the backend reads without acks (Redis NOACK); nothing to track here.
 * - `delayed`: a message is acked when `next()` hands it out, and committed once it is
 *   `delayMs` old, checked every `intervalMs`.
 * - `rolling`: only `ack()`ed messages are committed, every `intervalMs`; manual commit() is refused.
 * - `disabled`: only `ack()` and `commit()`.
 * `end()` commits every ack, however young (SeaStreamer leaves young ones unacked).
 */
export class AckTracker<Ack> {
  readonly #mode: AutoCommit;
  readonly #delayMs: number;
  readonly #refOf: (message: MessageHeader) => Ack;
  readonly #commitFn: CommitFn<Ack>;
  /** What commit needs of each acked message, and when it was acked, as parallel arrays. */
  #acked: Ack[] = [];
  #ackedAt: number[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #committing: Promise<void> = Promise.resolve();
  #failure: unknown;

  constructor(
    mode: AutoCommit,
    delayMs: number,
    intervalMs: number,
    refOf: (message: MessageHeader) => Ack,
    commit: CommitFn<Ack>,
  ) {
    this.#mode = mode;
    this.#delayMs = delayMs;
    this.#refOf = refOf;
    this.#commitFn = commit;
    if (mode === 'delayed' || mode === 'rolling') {
      this.#timer = setInterval(() => this.#auto(), Math.max(intervalMs, 1));
      this.#timer.unref?.();
    }
  }

  /** next() handed this message out. */
  delivered(header: MessageHeader): void {
    if (this.#mode === 'delayed') this.#push(header);
  }

  ack(header: MessageHeader): void {
    if (this.#mode === 'immediate' || this.#mode === 'delayed') return; // acked on delivery already
    this.#push(header);
  }

  #push(header: MessageHeader): void {
    this.#acked.push(this.#refOf(header));
    this.#ackedAt.push(Date.now());
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

  /** Stops the timer and commits every ack. */
  end(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    return this.#commitUpTo(Number.POSITIVE_INFINITY, true);
  }

  #auto(): void {
    const cutoff = this.#mode === 'delayed' ? Date.now() - this.#delayMs : Number.POSITIVE_INFINITY;
    // A failed background commit is kept and reported by the next commit() or end().
    this.#commitUpTo(cutoff, false).catch((error) => {
      this.#failure ??= error;
    });
  }

  #commitUpTo(cutoff: number, report: boolean): Promise<void> {
    // Commits run one at a time so a slow one never overlaps the next.
    const run = this.#committing.then(async () => {
      let n = 0;
      while (n < this.#ackedAt.length && this.#ackedAt[n]! <= cutoff) n++;
      if (n > 0) {
        const batch = this.#acked.splice(0, n);
        const at = this.#ackedAt.splice(0, n);
        try {
          await this.#commitFn(batch);
        } catch (error) {
          // Keep them for the next try.
          this.#acked = batch.concat(this.#acked);
          this.#ackedAt = at.concat(this.#ackedAt);
          throw error;
        }
      }
      if (report && this.#failure !== undefined) {
        const failure = this.#failure;
        this.#failure = undefined;
        throw failure;
      }
    });
    this.#committing = run.catch(() => {});
    return run;
  }
}
