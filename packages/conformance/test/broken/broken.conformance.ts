import {
  type Consumer,
  connect,
  isStreamerError,
  type Message,
  type Streamer,
} from '@streamer/core';
import { runConformance } from '../../src/index.js';

// The memory backend with one deliberate defect, chosen by BROKEN: the suite must catch each.
const defect = process.env.BROKEN as 'drop' | 'reorder' | 'manifest';

function breakConsumer(consumer: Consumer): Consumer {
  let count = 0;
  let held: Message | undefined;
  const next: Consumer['next'] = async (options) => {
    if (held) {
      const message = held;
      held = undefined;
      return message;
    }
    const message = await consumer.next(options);
    count++;
    if (defect === 'drop' && count % 1000 === 0) return consumer.next(options); // loses one in 1000
    if (defect === 'reorder' && count % 100 === 0) {
      held = message; // hands the 100th out after the 101st
      return consumer.next(options);
    }
    return message;
  };
  return {
    next,
    seek: (to) => consumer.seek(to),
    rewind: (to) => consumer.rewind(to),
    assign: (stream, shard) => consumer.assign(stream, shard),
    unassign: (stream, shard) => consumer.unassign(stream, shard),
    ack: (message) => consumer.ack(message),
    commit: () => consumer.commit(),
    lag: () => consumer.lag(),
    process: (message, fn) => consumer.process(message, fn),
    // run() reads the real consumer: the defects are in next() only.
    run: (options) => consumer.run(options),
    end: () => consumer.end(),
    [Symbol.asyncDispose]: () => consumer.end(),
    [Symbol.asyncIterator]: () => ({
      next: () =>
        next().then(
          (value) => ({ value, done: false as const }),
          (error) => {
            if (isStreamerError(error, 'CONSUMER_ENDED'))
              return { value: undefined, done: true as const };
            throw error;
          },
        ),
      return: () => consumer.end().then(() => ({ value: undefined, done: true as const })),
    }),
  };
}

async function brokenStreamer(): Promise<Streamer> {
  const streamer = await connect('memory://broken');
  return {
    backend: streamer.backend,
    // 'manifest': says it cannot seek, in an object anyone can change, and seeks all the same.
    supports: defect === 'manifest' ? { ...streamer.supports, seek: false } : streamer.supports,
    createProducer: (stream, options) => streamer.createProducer(stream, options),
    createConsumer: async (streams, options) =>
      breakConsumer(await streamer.createConsumer(streams, options)),
    disconnect: () => streamer.disconnect(),
    [Symbol.asyncDispose]: () => streamer.disconnect(),
  };
}

runConformance({
  name: `memory, broken: ${defect}`,
  connect: brokenStreamer,
});
