import { describe, expect, it } from 'vitest';
import { AckTracker, sleep } from '../src/backend.js';
import type { MessageHeader } from '../src/index.js';

const header = (n: number): MessageHeader => ({
  streamKey: 's',
  shardId: 0,
  sequence: BigInt(n),
  timestamp: new Date(),
});

function tracker(mode: 'delayed' | 'rolling' | 'disabled', delayMs = 0, intervalMs = 10) {
  const committed: bigint[] = [];
  const acks = new AckTracker(
    mode,
    delayMs,
    intervalMs,
    (h) => h.sequence,
    async (batch) => {
      committed.push(...batch);
    },
  );
  return { acks, committed };
}

describe('AckTracker', () => {
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

  it('keeps acks whose commit failed and reports background failures on the next commit', async () => {
    let fail = true;
    const committed: bigint[] = [];
    const acks = new AckTracker(
      'rolling',
      0,
      5,
      (h) => h.sequence,
      async (batch) => {
        if (fail) throw new Error('redis down');
        committed.push(...batch);
      },
    );
    acks.ack(header(1));
    await sleep(30);
    fail = false;
    await expect(acks.end()).rejects.toThrow('redis down');
    expect(committed).toEqual([1n]);
  });
});
