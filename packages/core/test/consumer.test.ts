import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import {
  AbstractConsumer,
  type AckRef,
  resolveConsumerOptions,
  StreamMessage,
  sleep,
} from '../src/backend.js';
import { MEMORY_SUPPORTS, type Message } from '../src/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** A group consumer handing out fresh 1 MB messages, recording what `_commit` receives. */
class Counting extends AbstractConsumer {
  sequence = 0n;
  readonly committed: AckRef[] = [];

  protected async _next(): Promise<Message> {
    this.sequence++;
    return new StreamMessage('s', 0, this.sequence, new Date(), new Uint8Array(2 ** 20));
  }

  protected async _end(): Promise<void> {}

  protected override async _commit(acked: AckRef[]): Promise<void> {
    this.committed.push(...acked);
  }
}

const group = (autoCommit: 'delayed' | 'disabled') =>
  new Counting(
    ['s'],
    resolveConsumerOptions({ mode: 'resumable', group: 'g', autoCommit }, MEMORY_SUPPORTS),
  );

describe('AbstractConsumer acks', () => {
  it('commits positions only, so an acked message is not kept until its commit', async () => {
    const consumer = group('delayed'); // commits after autoCommitDelayMs: 5 s
    const delivered: WeakRef<Message>[] = [];
    for (let i = 0; i < 20; i++) delivered.push(new WeakRef(await consumer.next()));
    await sleep(0); // WeakRefs hold their target until the current job ends
    gc();
    expect(delivered.filter((ref) => ref.deref() !== undefined).length).toBeLessThan(2);
    await consumer.end();
    expect(consumer.committed).toHaveLength(20);
    expect(consumer.committed[19]).toStrictEqual({ streamKey: 's', shardId: 0, sequence: 20n });
  });

  it('keeps the position of a header passed to ack(), not the header', async () => {
    const consumer = group('disabled');
    const message = await consumer.next();
    consumer.ack(message);
    await consumer.commit();
    expect(consumer.committed).toStrictEqual([{ streamKey: 's', shardId: 0, sequence: 1n }]);
    await consumer.end();
  });
});
