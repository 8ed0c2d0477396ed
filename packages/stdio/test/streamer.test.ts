import { PassThrough, Writable } from 'node:stream';
import { type Consumer, connect, type StreamerError } from '@streamer/core';
import { describe, expect, it } from 'vitest';
import { backend } from '../src/index.js';

const url = [new URL('stdio://')];
/** A writable that keeps nothing. */
const sink = () => new Writable({ write: (_chunk, _encoding, done) => done() });

async function codeOf(promise: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    return (error as StreamerError).code;
  }
  return undefined;
}

const texts = async (c: Consumer, n: number) => {
  const out: string[] = [];
  for (let i = 0; i < n; i++)
    out.push((await c.next({ signal: AbortSignal.timeout(5000) })).text());
  return out;
};

describe('stdio streamer with injected streams', () => {
  it('load-balanced members share by sequence % members as they join and leave', async () => {
    const input = new PassThrough();
    const s = await backend.connect(url, { input, output: sink() });
    const opts = { mode: 'loadBalanced', group: 'g' } as const;
    const a = await s.createConsumer('k', opts);
    const b = await s.createConsumer('k', opts);
    input.write('[k] 0\n[k] 1\n[k] 2\n[k] 3\n');
    expect(await texts(a, 2)).toEqual(['0', '2']);
    expect(await texts(b, 2)).toEqual(['1', '3']);
    input.write('[k] 4\n[k] 5\n');
    await new Promise((resolve) => setImmediate(resolve)); // 5 waits in b's queue
    await b.end(); // b leaves without reading 5: it goes to a
    input.write('[k] 6\n');
    expect(await texts(a, 3)).toEqual(['4', '5', '6']);
    const c = await s.createConsumer('k', opts);
    input.write('[k] 7\n[k] 8\n');
    expect(await texts(c, 1)).toEqual(['7']);
    expect(await texts(a, 1)).toEqual(['8']);
    await s.disconnect();
  });

  it('loopback delivers what this process produces to its consumers, and writes it out', async () => {
    const output = new PassThrough();
    const looped = await backend.connect(url, { input: new PassThrough(), output, loopback: true });
    const c = await looped.createConsumer('k');
    const p = await looped.createProducer('k');
    const receipt = await p.send('hello', { timestamp: new Date('2022-01-01T00:00:00.5Z') });
    const m = await c.next();
    expect([m.text(), m.sequence, m.timestamp.getTime()]).toEqual([
      'hello',
      receipt.sequence,
      receipt.timestamp.getTime(),
    ]);
    expect(String(output.read())).toBe('[2022-01-01T00:00:00.500 | k | 0] hello\n');
    await looped.disconnect();
  });

  it('without loopback, what a process produces does not reach its own consumers', async () => {
    const s = await backend.connect(url, { input: new PassThrough(), output: sink() });
    const c = await s.createConsumer('k');
    const p = await s.createProducer('k');
    await p.send('not for me');
    expect(await codeOf(c.next({ signal: AbortSignal.timeout(100) }))).toBe('TIMEOUT');
    await s.disconnect();
  });

  it('reports bad lines to onError with their number and keeps reading', async () => {
    const input = new PassThrough();
    const errors: StreamerError[] = [];
    const s = await backend.connect(url, {
      input,
      output: sink(),
      maxLineBytes: 16,
      onError: (e: StreamerError) => errors.push(e),
    });
    const c = await s.createConsumer('k');
    input.write('[k] ok\n[k | x] bad\n[k] this line is too long\n[k] fine\n');
    expect(await texts(c, 2)).toEqual(['ok', 'fine']);
    expect(errors.map((e) => [e.code, e.message.slice(0, 12)])).toEqual([
      ['CORRUPT_DATA', 'input line 2'],
      ['PAYLOAD_TOO_LARGE', 'input line 3'],
    ]);
    await s.disconnect();
  });

  it('end of input: waiting and later consumers get STREAM_ENDED after what was read', async () => {
    const input = new PassThrough();
    const s = await backend.connect(url, { input, output: sink() });
    const c = await s.createConsumer('k');
    input.end('[k] last');
    expect(await texts(c, 1)).toEqual(['last']);
    expect(await codeOf(c.next())).toBe('STREAM_ENDED');
    const late = await s.createConsumer('k');
    expect(await codeOf(late.next())).toBe('STREAM_ENDED');
    await s.disconnect();
  });

  it('with loopback, consumers outlive the end of the input: the process may still produce', async () => {
    const input = new PassThrough();
    input.end();
    const s = await backend.connect(url, { input, output: sink(), loopback: true });
    const c = await s.createConsumer('k');
    const p = await s.createProducer('k');
    await new Promise((resolve) => setImmediate(resolve)); // the input has ended by now
    await p.send('still here');
    expect(await texts(c, 1)).toEqual(['still here']);
    await s.disconnect();
  });

  it('a slow consumer pauses the reader instead of buffering the whole input', async () => {
    const input = new PassThrough({ highWaterMark: 1024 });
    const s = await backend.connect(url, { input, output: sink() });
    const c = await s.createConsumer('k', { batchSize: 10 });
    let written = 0;
    // Write until the input refuses more: the reader stopped taking lines.
    while (input.write(`[k] ${written}\n`)) written++;
    await new Promise((resolve) => setImmediate(resolve));
    expect(input.isPaused()).toBe(true);
    expect(await texts(c, 3)).toEqual(['0', '1', '2']);
    await s.disconnect();
  });

  it('refuses what stdio cannot do, naming the bad value', async () => {
    const s = await backend.connect(url, { input: new PassThrough(), output: sink() });
    expect(await codeOf(s.createConsumer('k', { mode: 'resumable', group: 'g' }))).toBe(
      'UNSUPPORTED',
    );
    const c = await s.createConsumer('k');
    expect(await codeOf(c.seek(new Date()))).toBe('UNSUPPORTED');
    expect(await codeOf(c.rewind('beginning'))).toBe('UNSUPPORTED');
    const p = await s.createProducer('k');
    p.send('two\nlines'); // un-awaited: must not crash, flush reports it
    expect(await codeOf(p.flush())).toBe('INVALID_PAYLOAD');
    expect(await codeOf(p.send(Uint8Array.of(0xc3)))).toBe('INVALID_PAYLOAD');
    await p.flush().catch(() => {});
    expect(await codeOf(p.send('x', { headers: { a: 'b' } }))).toBe('UNSUPPORTED');
    expect(await codeOf(p.flush())).toBe('UNSUPPORTED'); // reported once more, then cleared
    await s.disconnect();
    expect(await codeOf(connect('stdio://somehost'))).toBe('INVALID_URL');
    const bad = await connect('stdio://', { loopback: 'yes' }).catch((e) => e);
    expect([bad.code, bad.message]).toEqual([
      'INVALID_ARGUMENT',
      'loopback must be true or false, got "yes"',
    ]);
    // Options of other backends are ignored, so one options object serves every URL.
    const portable = await backend.connect(url, {
      input: new PassThrough(),
      output: new PassThrough(),
      createIfNotExists: true,
    });
    await portable.disconnect();
  });

  it('a failed output rejects sends with BACKEND instead of crashing', async () => {
    const output = new Writable({ write: (_c, _e, done) => done(new Error('EPIPE')) });
    const s = await backend.connect(url, { input: new PassThrough(), output });
    const p = await s.createProducer('k');
    const error = await p.send('x').catch((e) => e);
    expect([error.code, error.message]).toEqual(['BACKEND', 'Writing to output failed: EPIPE']);
    expect(await codeOf(p.send('y'))).toBe('BACKEND');
    await s.disconnect().catch(() => {});
  });
});

describe('what users can reach', () => {
  it('a streamer has no public internals: its writer and loopback hub are private', async () => {
    const s = await backend.connect(url, { input: new PassThrough(), output: sink() });
    for (const name of ['writer', 'loopbackHub']) expect(name in s, name).toBe(false);
    await s.disconnect();
  });
});
