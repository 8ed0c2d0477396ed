import { describe, expect, it } from 'vitest';
import { type Consumer, connect, type Producer } from '../src/index.js';

describe('await using', () => {
  it('ends consumers and producers and disconnects streamers at the end of the block', async () => {
    let consumer: Consumer;
    let producer: Producer;
    {
      await using streamer = await connect('memory://dispose');
      await using c = await streamer.createConsumer('k');
      await using p = await streamer.createProducer('k');
      consumer = c;
      producer = p;
      await p.send('inside');
      expect((await c.next()).text()).toBe('inside');
    }
    await expect(consumer.next()).rejects.toMatchObject({ code: 'CONSUMER_ENDED' });
    await expect(producer.send('after')).rejects.toMatchObject({ code: 'PRODUCER_ENDED' });
  });
});
