import { pathToFileURL } from 'node:url';
import type { ConsumerOptions, Message, Streamer } from '@streamer/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backend } from '../src/index.js';
import { tempDir, tempFile } from './helpers.js';

const dir = tempDir('seek');

/** Everything a consumer hands out until STREAM_ENDED, as "stream:seq". */
async function rest(c: { next(o?: object): Promise<Message> }): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    try {
      const m = await c.next({ signal: AbortSignal.timeout(5000) });
      out.push(`${m.streamKey}:${m.sequence}`);
    } catch (error) {
      expect((error as { code?: string }).code).toBe('STREAM_ENDED');
      return out;
    }
  }
}

describe('rewind and seek (property)', () => {
  it('land on exactly the first wanted message of each stream, whatever the file looks like', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(1024, 2048),
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.record({ stream: fc.nat(5), size: fc.nat(700), gap: fc.nat(3) }), {
          minLength: 1,
          maxLength: 250,
        }),
        fc.array(
          fc.oneof(
            fc.nat(120).map((at) => ({ at })),
            fc.nat(300).map((t) => ({ t })),
          ),
          {
            minLength: 1,
            maxLength: 4,
          },
        ),
        async (interval, streamCount, messages, targets) => {
          const path = tempFile(dir);
          let streamer: Streamer | undefined;
          try {
            streamer = await backend.connect([pathToFileURL(path)], {
              createIfNotExists: true,
              beaconInterval: interval,
              follow: false,
            });
            const producer = await streamer.createProducer();
            const base = Date.parse('2024-06-01T00:00:00Z');
            let time = base;
            const sent: { key: string; seq: bigint; ms: number }[] = [];
            for (const m of messages) {
              time += m.gap;
              const key = `s${m.stream % streamCount}`;
              const receipt = await producer.sendTo(key, 'p'.repeat(m.size), {
                timestamp: new Date(time),
              });
              sent.push({ key, seq: receipt.sequence, ms: time });
            }
            await producer.end();
            const subscribed = ['s0', 's2', 's3'].slice(0, Math.max(1, streamCount - 1));
            const consumer = await streamer.createConsumer(subscribed, {
              start: 'earliest',
            } as ConsumerOptions);
            const mine = sent.filter((m) => subscribed.includes(m.key));
            for (const target of targets) {
              let expected: typeof mine;
              if ('at' in target) {
                await consumer.rewind({ at: BigInt(target.at) });
                expected = mine.filter((m) => m.seq >= BigInt(target.at));
              } else {
                await consumer.seek(new Date(base + target.t));
                expected = mine.filter((m) => m.ms >= base + target.t);
              }
              expect(await rest(consumer)).toEqual(expected.map((m) => `${m.key}:${m.seq}`));
            }
          } finally {
            await streamer?.disconnect();
          }
        },
      ),
      { numRuns: 25 },
    );
  });
});
