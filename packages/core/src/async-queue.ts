import { abortError, type StreamerError } from './errors.js';

interface Waiter<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

// An error queued between items, so a failure reaches the reader after the messages before it.
class Failure {
  constructor(readonly error: unknown) {}
}

/**
 * A FIFO that a backend's read loop pushes into and `next()` takes from. Items are handed to a
 * waiting reader directly; `close(error)` makes every later `shift()` reject once the buffer is
 * drained. Backends use `length` and `untilShorterThan` for read-ahead backpressure.
 */
export class AsyncQueue<T> {
  #items: (T | Failure)[] = [];
  #head = 0;
  #waiters: Waiter<T>[] = [];
  #roomWaiters: { limit: number; resolve(): void }[] = [];
  #closed: StreamerError | undefined;

  get length(): number {
    return this.#items.length - this.#head;
  }

  /** The buffered items, oldest first (not the errors): what a consumer has read and not handed out. */
  *items(): Iterable<T> {
    for (let i = this.#head; i < this.#items.length; i++) {
      const item = this.#items[i];
      if (!(item instanceof Failure)) yield item;
    }
  }

  get closed(): boolean {
    return this.#closed !== undefined;
  }

  push(item: T): void {
    if (this.#closed) return;
    const waiter = this.#waiters.shift();
    if (waiter) waiter.resolve(item);
    else this.#items.push(item);
  }

  /** Queues an error: the reader gets it after the items pushed before it. */
  pushError(error: unknown): void {
    if (this.#closed) return;
    const waiter = this.#waiters.shift();
    if (waiter) waiter.reject(error);
    else this.#items.push(new Failure(error));
  }

  /** The next item. An aborted `signal` withdraws the request: no item is taken for it. */
  shift(signal?: AbortSignal): Promise<T> {
    if (this.#head < this.#items.length) {
      const item = this.#dequeue();
      return item instanceof Failure ? Promise.reject(item.error) : Promise.resolve(item);
    }
    if (this.#closed) return Promise.reject(this.#closed);
    if (!signal) return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
    if (signal.aborted) return Promise.reject(abortError(signal));
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(abortError(signal));
      };
      const waiter: Waiter<T> = {
        resolve: (value) => {
          signal.removeEventListener('abort', onAbort);
          resolve(value);
        },
        reject: (error) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      this.#waiters.push(waiter);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * The next item if one is buffered, else undefined (also when the next is an error: `shift()`
   * rejects with it). No promise: a reader draining a full buffer saves a turn per item.
   */
  shiftNow(): T | undefined {
    if (this.#head === this.#items.length || this.#items[this.#head] instanceof Failure) return;
    return this.#dequeue() as T;
  }

  #dequeue(): T | Failure {
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined as T;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    this.#wakeRoomWaiters();
    return item;
  }

  /** Resolves once fewer than `limit` items are buffered (at once if they are already). */
  untilShorterThan(limit: number): Promise<void> {
    if (this.length < limit || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#roomWaiters.push({ limit, resolve }));
  }

  /** Drops what is buffered (a rewind makes it stale). */
  clear(): void {
    this.#items = [];
    this.#head = 0;
    this.#wakeRoomWaiters();
  }

  /** No more items: waiting and later readers get `error` once the buffer is drained. */
  close(error: StreamerError): void {
    if (this.#closed) return;
    this.#closed = error;
    if (this.length === 0) for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
    for (const waiter of this.#roomWaiters.splice(0)) waiter.resolve();
  }

  /** Like close, but drops what is buffered: readers get `error` at once. */
  abort(error: StreamerError): void {
    this.clear();
    this.close(error);
  }

  #wakeRoomWaiters(): void {
    if (this.#roomWaiters.length === 0) return;
    const length = this.length;
    // Every shift() comes here while a read loop waits for room, which a fast one does most of
    // the time: look before making a new array, not one array per message.
    let due = false;
    for (const waiter of this.#roomWaiters) if (length < waiter.limit) due = true;
    if (!due) return;
    this.#roomWaiters = this.#roomWaiters.filter((waiter) => {
      if (length >= waiter.limit) return true;
      waiter.resolve();
      return false;
    });
  }
}
