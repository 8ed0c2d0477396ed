import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  readFileSync,
  renameSync,
  statSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { takeMessages } from '@streamer/conformance';
import {
  type Consumer,
  type ConsumerOptions,
  type Message,
  parseStreamerUrl,
  type Streamer,
} from '@streamer/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  backend,
  encodeMessage,
  type FileConsumerOptions,
  messageSize,
  readHeader,
  readMessages,
  WILDCARD,
} from '../src/index.js';
import { tempDir, tempFile } from './helpers.js';

const dir = tempDir('streamer');
const opened: Streamer[] = [];

afterEach(async () => {
  await Promise.allSettled(opened.splice(0).map((s) => s.disconnect()));
});

async function connect(path: string, options: Record<string, unknown> = {}): Promise<Streamer> {
  const streamer = await backend.connect([pathToFileURL(path)], options);
  opened.push(streamer);
  return streamer;
}

async function fresh(options: Record<string, unknown> = {}) {
  const path = tempFile(dir);
  return { path, s: await connect(path, { createIfNotExists: true, ...options }) };
}

const take = (c: Consumer, n: number) => takeMessages(c, n);

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  return promise.then(
    () => undefined,
    (error) => error.code,
  );
}

const texts = (messages: Message[]) => messages.map((m) => m.text());

describe('connect', () => {
  it('a missing file is a STREAM_NOT_FOUND error naming it, unless createIfNotExists', async () => {
    const path = join(dir, 'missing.ss');
    const error = await backend.connect([pathToFileURL(path)], {}).catch((e) => e);
    expect(error.code).toBe('STREAM_NOT_FOUND');
    expect(error.retriable).toBe(false);
    expect(error.message).toContain(path);
    expect(existsSync(path)).toBe(false);
    const empty = join(dir, 'empty.ss');
    writeFileSync(empty, '');
    expect(await codeOf(backend.connect([pathToFileURL(empty)], {}))).toBe('STREAM_NOT_FOUND');
    await connect(path, { createIfNotExists: true });
    expect(readFileSync(path).subarray(0, 2).toString()).toBe('Ss');
    expect(await codeOf(backend.connect([pathToFileURL(path)], { createOnly: true }))).toBe(
      'CONNECT',
    );
  });

  it('accepts file://./relative paths, resolved from the working directory', async () => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const [url] = parseStreamerUrl('file://./relative.ss');
      const s = await backend.connect([url!], { createIfNotExists: true });
      opened.push(s);
      const p = await s.createProducer('rel');
      await p.send('here');
      await p.end();
    } finally {
      process.chdir(cwd);
    }
    const stored: string[] = [];
    for await (const m of readMessages(join(dir, 'relative.ss'))) stored.push(m.text());
    expect(stored).toEqual(['here']);
  });

  it('bad options and URLs name the bad value', async () => {
    const url = pathToFileURL(join(dir, 'x.ss'));
    const bad = async (options: Record<string, unknown>, needle: string) => {
      const error = await backend.connect([url], options).catch((e) => e);
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.message).toContain(needle);
    };
    await bad({ beaconIntervalBytes: 1000 }, 'beaconIntervalBytes must be');
    await bad({ beaconInterval: 1000 }, '1000'); // the old name, still read
    await bad({ maxFileBytes: -1 }, 'maxFileBytes must be');
    await bad({ fileSizeLimit: -1 }, '-1');
    await bad(
      { maxFileBytes: 4096, fileSizeLimit: 8192 },
      'fileSizeLimit is the old name of maxFileBytes',
    );
    await bad({ createIfNotExists: 'yes' }, 'yes');
    await bad({ pollIntervalMs: 2 ** 31 }, String(2 ** 31)); // Node would poll every 1 ms
    // Options of other backends are ignored, so one options object serves every URL.
    const portable = await backend.connect([url], {
      createIfNotExists: true,
      mkstream: true,
      db: 2,
    });
    await portable.disconnect();
    const remote = await backend.connect([new URL('file://example.com/x.ss')], {}).catch((e) => e);
    expect(remote.code).toBe('INVALID_URL');
    expect(remote.message).toContain('example.com');
  });

  it('a file that is not a stream file is CORRUPT_DATA', async () => {
    const path = tempFile(dir);
    writeFileSync(path, 'hello, this is not a stream file'.repeat(10));
    expect(await codeOf(backend.connect([pathToFileURL(path)], {}))).toBe('CORRUPT_DATA');
  });
});

describe('producer', () => {
  it('numbers each (stream, shard) from 1 and stores shard and timestamp', async () => {
    const { path, s } = await fresh();
    const p = await s.createProducer('orders');
    const at = new Date('2021-01-02T03:04:05.678Z');
    const receipts = [
      await p.send('a'),
      await p.send('b', { shard: 3, timestamp: at }),
      await p.send('c'),
      await p.send('d', { shard: 3 }),
    ];
    expect(receipts.map((r) => [r.shardId, r.sequence])).toEqual([
      [0, 1n],
      [3, 1n],
      [0, 2n],
      [3, 2n],
    ]);
    await p.end();
    const stored = [];
    for await (const m of readMessages(path)) stored.push(m);
    expect(stored.map((m) => [m.text(), m.shardId, m.sequence])).toEqual([
      ['a', 0, 1n],
      ['b', 3, 1n],
      ['c', 0, 2n],
      ['d', 3, 2n],
    ]);
    expect(stored[1].timestamp.getTime()).toBe(at.getTime());
  });

  it('producers of one file share its writer; sequences stay contiguous', async () => {
    const { path, s } = await fresh();
    const s2 = await connect(path);
    const [p1, p2] = [await s.createProducer('x'), await s2.createProducer('x')];
    const sends = [];
    for (let i = 0; i < 100; i++) sends.push((i % 2 ? p1 : p2).send(`${i}`));
    const receipts = await Promise.all(sends);
    expect(receipts.map((r) => r.sequence)).toEqual(
      Array.from({ length: 100 }, (_, i) => BigInt(i + 1)),
    );
  });

  it('a file reached through a symbolic link shares the writer of its real path', async () => {
    const { path, s } = await fresh();
    const link = `${path}.link.ss`;
    symlinkSync(path, link);
    const viaLink = await connect(link);
    const [p1, p2] = [await s.createProducer('x'), await viaLink.createProducer('x')];
    const receipts = await Promise.all([p1.send('a'), p2.send('b'), p1.send('c')]);
    expect(receipts.map((r) => r.sequence)).toEqual([1n, 2n, 3n]);
  });

  it('one process writes a file at a time: a live writer elsewhere is refused, a dead one taken over', async () => {
    const { path, s } = await fresh();
    writeFileSync(`${path}.lock`, `${process.ppid}\n`); // a process that is alive
    const error = await s.createProducer('x').catch((e) => e);
    expect(error.code).toBe('BACKEND');
    expect(error.message).toContain(String(process.ppid));
    const gone = spawnSync(process.execPath, ['-e', '']).pid!;
    writeFileSync(`${path}.lock`, `${gone}\n`);
    const p = await s.createProducer('x');
    await p.send('written');
    expect(readFileSync(`${path}.lock`, 'utf8')).toBe(`${process.pid}\n`);
    await p.end();
    expect(existsSync(`${path}.lock`)).toBe(false);
  });

  it('a lock left with our own pid by a crashed process (a restarted container) is taken over', async () => {
    const { path, s } = await fresh();
    writeFileSync(`${path}.lock`, `${process.pid}\n`);
    const p = await s.createProducer('x');
    await p.send('written');
    await p.end();
    expect(existsSync(`${path}.lock`)).toBe(false);
  });

  it('a follower waiting after the half message of a crashed writer reads what the next writer appends', async () => {
    const { path, s } = await fresh({ watch: false, pollIntervalMs: 5 });
    const crashed = await s.createProducer('c');
    await crashed.send('one');
    await crashed.send('a message the writer did not finish');
    await crashed.end();
    truncateSync(path, statSync(path).size - 10);
    const consumer = await s.createConsumer('c', { start: 'latest' });
    const next = consumer.next();
    await sleep(50); // the follower reads the half message and waits for the rest of it
    const writer = await s.createProducer('c'); // cuts the half message off
    await writer.send('two');
    expect((await next).text()).toBe('two');
    await writer.end();
  });

  it('endWithEos: the last producer to end writes EOS, and consumers then get STREAM_ENDED', async () => {
    const { s } = await fresh({ endWithEos: true });
    const p = await s.createProducer('e');
    for (let i = 0; i < 3; i++) await p.send(`m${i}`);
    const c = await s.createConsumer('e', { start: 'earliest' });
    await p.end();
    expect(texts(await take(c, 3))).toEqual(['m0', 'm1', 'm2']);
    expect(await codeOf(c.next())).toBe('STREAM_ENDED');
  });

  it('maxFileBytes: a send past it fails with PAYLOAD_TOO_LARGE naming the limit', async () => {
    const { s } = await fresh({ maxFileBytes: 2048, beaconIntervalBytes: 1024 });
    const p = await s.createProducer('big');
    await p.send('x'.repeat(500));
    const error = await p.send('x'.repeat(3000)).catch((e) => e);
    expect(error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(error.message).toContain('maxFileBytes of 2048');
    await p.flush().catch(() => {});
  });

  it('the old names fileSizeLimit and beaconInterval still work', async () => {
    const { path, s } = await fresh({ fileSizeLimit: 2048, beaconInterval: 1024 });
    expect((await readHeader(path)).beaconInterval).toBe(1024);
    const p = await s.createProducer('big');
    const error = await p.send('x'.repeat(3000)).catch((e) => e);
    expect(error.code).toBe('PAYLOAD_TOO_LARGE');
  });
});

describe('consumer', () => {
  it('follow: false replays to the end, then STREAM_ENDED', async () => {
    const { s } = await fresh();
    const p = await s.createProducer('r');
    for (let i = 0; i < 5; i++) await p.send(`m${i}`);
    const options: FileConsumerOptions = { start: 'earliest', follow: false };
    const c = await s.createConsumer('r', options);
    expect(texts(await take(c, 5))).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect(await codeOf(c.next())).toBe('STREAM_ENDED');
  });

  it('reads a SeaStreamer file: 100 messages, then STREAM_ENDED at its EOS', async () => {
    const path = tempFile(dir);
    writeFileSync(
      path,
      readFileSync(fileURLToPath(new URL('./fixtures/consumer.ss', import.meta.url))),
    );
    const s = await connect(path);
    const c = await s.createConsumer('hello', { start: 'earliest' });
    const got = await take(c, 100);
    expect(got.map((m) => m.sequence)).toEqual(Array.from({ length: 100 }, (_, i) => BigInt(i)));
    expect(await codeOf(c.next())).toBe('STREAM_ENDED');
    const late = await s.createConsumer('hello', { start: 'latest' });
    expect(await codeOf(late.next())).toBe('STREAM_ENDED');
  });

  it('the wildcard stream reads every stream; a list reads its subset', async () => {
    const { s } = await fresh();
    const all = await s.createConsumer(WILDCARD, { start: 'earliest' });
    const some = await s.createConsumer(['b', 'c'], { start: 'earliest' });
    const p = await s.createProducer();
    for (const key of ['a', 'b', 'c', 'a']) await p.sendTo(key, key);
    expect(texts(await take(all, 4))).toEqual(['a', 'b', 'c', 'a']);
    expect(texts(await take(some, 2))).toEqual(['b', 'c']);
  });

  it('waits for a half-written last message instead of calling it corrupt', async () => {
    const { path, s } = await fresh();
    const c = await s.createConsumer('half', { start: 'earliest' });
    const payload = Buffer.from('written in two goes');
    const bytes = Buffer.alloc(messageSize(4, payload.length));
    encodeMessage(bytes, 0, 'half', 0, 1, Date.now(), payload);
    appendFileSync(path, bytes.subarray(0, 20)); // another process, half way through a write
    expect(await codeOf(c.next({ signal: AbortSignal.timeout(300) }))).toBe('TIMEOUT');
    appendFileSync(path, bytes.subarray(20));
    expect(texts(await take(c, 1))).toEqual(['written in two goes']);
  });

  it('a removed file ends a live consumer with an error saying so', async () => {
    const { path, s } = await fresh({ watch: false, pollIntervalMs: 10 });
    const c = await s.createConsumer('gone', { start: 'earliest' });
    unlinkSync(path);
    const error = await c.next({ signal: AbortSignal.timeout(5000) }).catch((e) => e);
    expect(error.code).toBe('BACKEND');
    expect(error.message).toContain('removed');
  });

  it('rewind and seek land exactly, across many beacons and streams', async () => {
    const { s } = await fresh({ beaconInterval: 1024 });
    const p = await s.createProducer();
    const base = Date.parse('2024-01-01T00:00:00Z');
    for (let i = 0; i < 3000; i++) {
      p.sendTo(`s${i % 3}`, `${i}`, { timestamp: new Date(base + i * 10) });
    }
    await p.flush();
    const c = await s.createConsumer('s1', { start: 'earliest', follow: false } as ConsumerOptions);
    for (const at of [1n, 2n, 77n, 500n, 999n, 1000n]) {
      await c.rewind({ at });
      const [m] = await take(c, 1);
      expect(m!.sequence).toBe(at);
      expect(m!.text()).toBe(`${Number(at - 1n) * 3 + 1}`);
    }
    // s1 holds messages 1, 4, 7, …: the first at or after message i's time.
    for (const [i, first] of [
      [0, 1],
      [4, 4],
      [1500, 1501],
      [2998, 2998],
    ]) {
      await c.seek(new Date(base + i! * 10));
      const [m] = await take(c, 1);
      expect(m!.text()).toBe(`${first}`);
    }
    await c.rewind({ at: 1001n });
    expect(await codeOf(c.next())).toBe('STREAM_ENDED');
  });

  it('resumable: commits go to <file>.<group>.offsets and survive reconnecting', async () => {
    const { path, s } = await fresh();
    const p = await s.createProducer('jobs');
    for (let i = 0; i < 10; i++) p.send(`j${i}`);
    await p.flush();
    const options: ConsumerOptions = {
      mode: 'resumable',
      group: 'workers',
      start: 'earliest',
      autoCommit: 'disabled',
    };
    const c1 = await s.createConsumer('jobs', options);
    const got = await take(c1, 5);
    for (const m of [got[0], got[1], got[3]]) c1.ack(m); // j2 is not acked
    await c1.commit();
    await c1.end();
    const sidecar = `${path}.workers.offsets`;
    expect(JSON.parse(readFileSync(sidecar, 'utf8')).positions).toEqual([['jobs', 0, '2']]);
    await s.disconnect();

    const s2 = await connect(path);
    const c2 = await s2.createConsumer('jobs', options);
    expect(texts(await take(c2, 8))).toEqual(['j2', 'j3', 'j4', 'j5', 'j6', 'j7', 'j8', 'j9']);
    expect(basename(sidecar)).toBe(`${basename(path)}.workers.offsets`);
  });

  it('loadBalanced: members join and leave at any time; every message goes to exactly one', async () => {
    const { s } = await fresh();
    const options: ConsumerOptions = { mode: 'loadBalanced', group: 'g', start: 'earliest' };
    const a = await s.createConsumer('lb', options);
    const b = await s.createConsumer('lb', options);
    const p = await s.createProducer('lb');
    for (let i = 0; i < 10; i++) await p.send(`m${i}`);
    const first = [...(await take(a, 5)), ...(await take(b, 5))];
    expect(first.filter((m) => m.sequence % 2n === 0n).length).toBe(5);
    await a.end(); // b gets everything now, including what a had read ahead
    for (let i = 10; i < 16; i++) await p.send(`m${i}`);
    expect(texts(await take(b, 6))).toEqual(['m10', 'm11', 'm12', 'm13', 'm14', 'm15']);
    const c = await s.createConsumer('lb', options);
    for (let i = 16; i < 26; i++) await p.send(`m${i}`);
    const shares = [await take(b, 5), await take(c, 5)];
    expect(
      shares
        .flat()
        .map((m) => m.text())
        .sort(),
    ).toEqual(Array.from({ length: 10 }, (_, i) => `m${i + 16}`).sort());
  });

  it('rewind and seek work on a file SeaStreamer wrote, through its beacons', async () => {
    const path = tempFile(dir);
    writeFileSync(
      path,
      readFileSync(fileURLToPath(new URL('./fixtures/consumer.ss', import.meta.url))),
    );
    const s = await connect(path);
    const c = await s.createConsumer('hello', {
      start: 'earliest',
      follow: false,
    } as ConsumerOptions);
    for (const at of [0, 21, 50, 86, 99]) {
      await c.rewind({ at: BigInt(at) });
      expect(texts(await take(c, 1))).toEqual([`hello-${at}`]);
    }
    const all: Message[] = [];
    for await (const m of readMessages(path)) all.push(m);
    await c.seek(all[64].timestamp);
    const expected = all.find((m) => m.timestamp >= all[64].timestamp)!;
    expect(texts(await take(c, 1))).toEqual([expected.text()]);
  });

  it('resync: a damaged message is reported once, then reading goes on at the next beacon', async () => {
    const { path, s } = await fresh({ beaconInterval: 1024 });
    const p = await s.createProducer('d');
    for (let i = 0; i < 40; i++) await p.send(`message-${i}-${'.'.repeat(40)}`);
    await p.end();
    const bytes = readFileSync(path);
    const at = bytes.indexOf('message-3-');
    bytes[at] ^= 0x20;
    writeFileSync(path, bytes);
    const plain = await s.createConsumer('d', {
      start: 'earliest',
      follow: false,
    } as ConsumerOptions);
    expect(texts(await take(plain, 3))).toEqual(
      ['message-0-', 'message-1-', 'message-2-'].map((t) => `${t}${'.'.repeat(40)}`),
    );
    expect(await codeOf(plain.next())).toBe('CORRUPT_DATA');
    const resync = await s.createConsumer('d', {
      start: 'earliest',
      follow: false,
      resync: true,
    } as ConsumerOptions);
    expect((await take(resync, 3)).length).toBe(3);
    const error = await resync.next().catch((e) => e);
    expect(error.code).toBe('CORRUPT_DATA');
    const rest: Message[] = [];
    for await (const m of resync) rest.push(m);
    expect(rest.length).toBeGreaterThan(0);
    expect(rest.at(-1)!.text()).toBe(`message-39-${'.'.repeat(40)}`);
    expect(rest[0].sequence).toBeGreaterThan(4n); // the messages up to the next beacon are lost
  });

  it("resumable: a new group with 'latest' resumes from where it began, not from the new end", async () => {
    const { path, s } = await fresh();
    const p = await s.createProducer('late');
    await p.send('old');
    const options: ConsumerOptions = { mode: 'resumable', group: 'late-group', start: 'latest' };
    const c1 = await s.createConsumer('late', options);
    await c1.end(); // nothing delivered, nothing committed
    await p.send('new');
    const s2 = await connect(path);
    const c2 = await s2.createConsumer('late', options);
    expect(texts(await take(c2, 1))).toEqual(['new']);
  });

  it('a replaced file ends a live consumer with an error saying so', async () => {
    const { path, s } = await fresh({ watch: false, pollIntervalMs: 10 });
    const c = await s.createConsumer('gone', { start: 'earliest' });
    const other = tempFile(dir);
    writeFileSync(other, readFileSync(path));
    renameSync(other, path);
    const error = await c.next({ signal: AbortSignal.timeout(5000) }).catch((e) => e);
    expect(error.code).toBe('BACKEND');
    expect(error.message).toContain('replaced');
  });
});

describe('what users can reach', () => {
  it("a consumer has no public internals: its reader's and group's hooks are private", async () => {
    const { s } = await fresh();
    for (const mode of ['realtime', 'loadBalanced'] as const) {
      const c = await s.createConsumer('k', { mode });
      for (const name of ['open', 'reset', 'deliver', 'wants', 'damaged', 'stopped', 'queue']) {
        expect(name in c, name).toBe(false);
      }
    }
  });
});
