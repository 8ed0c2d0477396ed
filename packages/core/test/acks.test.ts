import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import {
  AbstractConsumer,
  AbstractStreamer,
  type AckRef,
  AckTracker,
  type ResolvedConsumerOptions,
  StreamMessage,
  sleep,
} from '../src/backend.js';
import {
  MEMORY_SUPPORTS,
  type Message,
  type MessageHeader,
  StreamerError,
  type StreamKey,
} from '../src/index.js';

const header = (n: number): MessageHeader => ({
  streamKey: 's',
  shardId: 0,
  sequence: BigInt(n),
  timestamp: new Date(),
});

function tracker(
  mode: 'immediate' | 'delayed' | 'rolling' | 'disabled',
  delayMs = 0,
  intervalMs = 10,
) {
  const committed: bigint[] = [];
  const batches: bigint[][] = [];
  const acks = new AckTracker(
    mode,
    delayMs,
    intervalMs,
    (h) => h.sequence,
    async (batch) => {
      committed.push(...batch);
      batches.push(batch);
    },
  );
  return { acks, committed, batches };
}

const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe('AckTracker', () => {
  it("'immediate' commits what one turn delivered in one commit; under a run, what was acked", async () => {
    const { acks, batches } = tracker('immediate');
    acks.delivered(header(1));
    acks.delivered(header(2));
    acks.ack(header(2)); // acked on delivery already
    await turns(2); // committed on its own, no commit() asked for
    expect(batches).toEqual([[1n, 2n]]);
    acks.running = true;
    acks.delivered(header(3)); // handed to a handler: not done yet
    acks.ack(header(4));
    await turns(2); // committed on its own, no commit() asked for
    expect(batches).toEqual([[1n, 2n], [4n]]);
    await acks.end();
  });

  it("'delayed' acks on delivery and commits once the delay has passed", async () => {
    const { acks, committed } = tracker('delayed', 50, 10);
    acks.delivered(header(1));
    await sleep(20);
    expect(committed).toEqual([]);
    await sleep(80);
    expect(committed).toEqual([1n]);
    acks.delivered(header(2));
    await acks.end(); // commits young acks too
    expect(committed).toEqual([1n, 2n]);
  });

  it("'rolling' commits only acked messages, and refuses manual commit()", async () => {
    const { acks, committed } = tracker('rolling');
    acks.delivered(header(1));
    acks.ack(header(2));
    await sleep(40);
    expect(committed).toEqual([2n]);
    await expect(acks.commit()).rejects.toMatchObject({ code: 'UNSUPPORTED' });
    await acks.end();
  });

  it("'disabled' commits only on commit() and end()", async () => {
    const { acks, committed } = tracker('disabled');
    acks.ack(header(1));
    await sleep(30);
    expect(committed).toEqual([]);
    await acks.commit();
    expect(committed).toEqual([1n]);
    acks.ack(header(2));
    await acks.end();
    expect(committed).toEqual([1n, 2n]);
  });

  it('forgets a timed commit failure once a later commit covered its acks', async () => {
    let fail = true;
    const committed: bigint[] = [];
    const failures: unknown[] = [];
    let done: () => void;
    const repaired = new Promise<void>((resolve) => {
      done = resolve;
    });
    const acks = new AckTracker(
      'rolling',
      0,
      5,
      (h) => h.sequence,
      async (batch) => {
        if (fail) {
          fail = false; // Redis is back for the next tick
          throw new Error('redis down');
        }
        committed.push(...batch);
        done();
      },
      { onTimedFailure: (error) => failures.push(error) },
    );
    acks.ack(header(1));
    await repaired;
    await acks.end();
    expect(committed).toEqual([1n]);
    expect(failures).toEqual([new Error('redis down')]);
  });

  it('keeps acks whose commit failed: end() fails only while they are uncommitted', async () => {
    let attempts = 0;
    const acks = new AckTracker(
      'disabled',
      0,
      5,
      (h) => h.sequence,
      async () => {
        attempts++;
        throw new TypeError('a bug');
      },
    );
    acks.ack(header(1));
    await expect(acks.commit()).rejects.toThrow('a bug');
    await expect(acks.end()).rejects.toThrow('a bug');
    expect(attempts).toBe(2); // not retried: only retriable StreamerErrors are
  });
});

const offline = () =>
  new StreamerError('CONNECT', 'XACK failed: The client is offline', { retriable: true });

describe('AckTracker retries', () => {
  /** A tracker whose commits fail retriably while `down` is true. */
  function flaky(options: { timeoutMs?: number } = {}) {
    const state = { down: true, attempts: 0, committed: [] as bigint[] };
    const acks = new AckTracker(
      'disabled',
      0,
      10,
      (h) => h.sequence,
      async (batch) => {
        state.attempts++;
        if (state.down) throw offline();
        state.committed.push(...batch);
      },
      options,
    );
    return { acks, state };
  }

  it('a commit retries retriable failures until the backend is back', async () => {
    const { acks, state } = flaky();
    acks.ack(header(1));
    const commit = acks.commit();
    await vi.waitFor(() => expect(state.attempts).toBeGreaterThan(2));
    acks.ack(header(2)); // acked while the commit waits: kept for the next one
    state.down = false;
    await commit;
    expect(state.committed).toEqual([1n]);
    await acks.end();
    expect(state.committed).toEqual([1n, 2n]);
  });

  it('fails with the last error at its deadline, keeping the acks', async () => {
    const { acks, state } = flaky({ timeoutMs: 0 });
    acks.ack(header(1));
    await expect(acks.commit()).rejects.toMatchObject({ code: 'CONNECT', retriable: true });
    expect(state.attempts).toBe(1);
    state.down = false;
    await acks.end();
    expect(state.committed).toEqual([1n]);
  });

  it('an awaited commit keeps the process alive while it waits (core built: dist)', async () => {
    const script = `
      import { AckTracker } from ${JSON.stringify(new URL('../dist/backend.js', import.meta.url).href)};
      import { StreamerError } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)};
      let attempts = 0;
      const acks = new AckTracker('disabled', 0, 1000, (h) => h.sequence, async () => {
        if (++attempts < 3) throw new StreamerError('CONNECT', 'offline', { retriable: true });
      });
      acks.ack({ streamKey: 's', shardId: 0, sequence: 1n, timestamp: new Date() });
      await acks.commit();
      console.log('committed after', attempts);
    `;
    const run = promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
    expect((await run).stdout).toBe('committed after 3\n');
  });

  it('giveUp() makes a waiting commit fail with its last error', async () => {
    const { acks, state } = flaky();
    acks.ack(header(1));
    const commit = acks.commit();
    await vi.waitFor(() => expect(state.attempts).toBeGreaterThan(0));
    acks.giveUp();
    await expect(commit).rejects.toThrow('The client is offline');
    expect(state.committed).toEqual([]);
  });
});

/** A group consumer of a backend whose commits fail, retriably, while `down`. */
class Flaky extends AbstractConsumer {
  down = false;
  sequence = 0n;
  readonly committed: bigint[] = [];
  readonly reported: unknown[] = [];
  readonly #attempted = new Set<() => void>();

  protected async _next(): Promise<Message> {
    this.sequence++;
    return new StreamMessage('s', 0, this.sequence, new Date(), new Uint8Array());
  }

  protected async _end(): Promise<void> {}

  protected override async _commit(acked: AckRef[]): Promise<void> {
    for (const wake of this.#attempted) wake();
    if (this.down) throw offline();
    this.committed.push(...acked.map((a) => a.sequence));
  }

  protected override _reportError(error: unknown): void {
    this.reported.push(error);
  }

  /** Resolves at the next commit attempt. */
  attempt(): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        this.#attempted.delete(wake);
        resolve();
      };
      this.#attempted.add(wake);
    });
  }
}

class FlakyStreamer extends AbstractStreamer {
  readonly backend = 'flaky';
  readonly supports = MEMORY_SUPPORTS;

  protected _createProducer(): Promise<never> {
    return Promise.reject(new StreamerError('UNSUPPORTED', 'no producers'));
  }

  protected async _createConsumer(streams: StreamKey[], options: ResolvedConsumerOptions) {
    return new Flaky(streams, options);
  }

  protected async _disconnect(): Promise<void> {}
}

describe('AbstractConsumer commits while the backend is down', () => {
  const resumable = (options: object) =>
    new FlakyStreamer().createConsumer('s', { mode: 'resumable', group: 'g', ...options });

  it("'rolling': a timed commit that failed and was repaired does not fail end()", async () => {
    const streamer = new FlakyStreamer();
    const c = (await streamer.createConsumer('s', {
      mode: 'resumable',
      group: 'g',
      autoCommit: 'rolling',
      autoCommitIntervalMs: 5,
      commitTimeoutMs: 0, // each timed commit tries once, so one fails while down
    })) as Flaky;
    c.down = true;
    c.ack(await c.next());
    while (c.reported.length === 0) await c.attempt();
    c.down = false;
    while (c.committed.length === 0) await c.attempt();
    await c.end();
    await streamer.disconnect();
    expect(c.committed).toEqual([1n]);
    expect(c.reported.length).toBeGreaterThan(0);
    for (const error of c.reported) expect(error).toMatchObject({ code: 'CONNECT' });
  });

  it("'delayed': end() waits for the backend and commits", async () => {
    const c = (await resumable({ autoCommit: 'delayed' })) as Flaky;
    await c.next();
    c.down = true;
    const ended = c.end();
    await c.attempt();
    await c.attempt(); // retried
    c.down = false;
    await ended;
    expect(c.committed).toEqual([1n]);
  });

  it('disconnect() while end() waits for the backend: both fail at once with the last error', async () => {
    const streamer = new FlakyStreamer();
    const c = (await streamer.createConsumer('s', {
      mode: 'resumable',
      group: 'g',
      autoCommit: 'disabled',
    })) as Flaky;
    c.ack(await c.next());
    c.down = true;
    const ended = c.end();
    await c.attempt();
    await expect(streamer.disconnect()).rejects.toMatchObject({ code: 'CONNECT' });
    await expect(ended).rejects.toMatchObject({ code: 'CONNECT' });
    expect(c.committed).toEqual([]);
  });
});
