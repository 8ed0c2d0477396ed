import { describe, expect, it } from 'vitest';
import { AsyncQueue, InProcessGroup, StreamMessage } from '../src/backend.js';
import { StreamerError } from '../src/index.js';

const message = (stream: string, sequence: number) =>
  new StreamMessage(stream, 0, BigInt(sequence), new Date(), new Uint8Array());

function member(...streams: string[]) {
  return {
    queue: new AsyncQueue<StreamMessage>(),
    wants: (m: StreamMessage) => streams.includes(m.streamKey),
  };
}

describe('InProcessGroup', () => {
  it('gives each message to member sequence % n of the n that want it, in join order', async () => {
    const group = new InProcessGroup();
    const [a, b, c] = [member('x'), member('x', 'y'), member('y')];
    for (const m of [a, b, c]) group.join(m);
    for (let i = 0; i < 4; i++) group.dispatch(message('x', i));
    group.dispatch(message('y', 1));
    group.dispatch(message('z', 1));
    const take = async (m: ReturnType<typeof member>) => {
      const out: string[] = [];
      while (m.queue.length > 0) {
        const got = await m.queue.shift();
        out.push(`${got.streamKey}${got.sequence}`);
      }
      return out;
    };
    expect(await take(a)).toEqual(['x0', 'x2']);
    expect(await take(b)).toEqual(['x1', 'x3']);
    expect(await take(c)).toEqual(['y1']);
  });

  it("hands a leaving member's unread messages to the others; a closed queue keeps its own", async () => {
    const group = new InProcessGroup();
    const [a, b] = [member('x'), member('x')];
    group.join(a);
    group.join(b);
    for (let i = 0; i < 4; i++) group.dispatch(message('x', i));
    expect(await group.leave(a)).toBe(true);
    expect(await group.leave(a)).toBe(false);
    expect(group.members).toEqual([b]);
    expect(b.queue.length).toBe(4);
    const c = member('x');
    group.join(c);
    group.dispatch(message('x', 5));
    c.queue.close(new StreamerError('STREAM_ENDED', 'ended'));
    await group.leave(c);
    expect([b.queue.length, c.queue.length]).toEqual([4, 1]);
  });
});
