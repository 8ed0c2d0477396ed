import { readFileSync, writeFileSync } from 'node:fs';
import { isStreamerError, type StreamerError } from '@streamer/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Decoder, readHeader, readMessages } from '../src/index.js';
import { LogWriter } from '../src/writer.js';
import { tempDir, tempFile } from './helpers.js';

const dir = tempDir('corrupt');
let original: Buffer;
let payloads: string[];
/** Per message: file offset of its first byte and just after its CR. */
let spans: { start: number; end: number }[];

interface Outcome {
  payloads: string[];
  error: StreamerError | undefined;
}

async function read(bytes: Buffer, options: { resync?: boolean } = {}): Promise<Outcome> {
  const path = tempFile(dir, 'case');
  writeFileSync(path, bytes);
  const out: string[] = [];
  const damage: StreamerError[] = [];
  try {
    for await (const m of readMessages(path, { ...options, onCorrupt: (e) => damage.push(e) }))
      out.push(Buffer.from(m.payload).toString('latin1'));
  } catch (error) {
    // Anything but CORRUPT_DATA (a TypeError, a RangeError) is a crash.
    if (!isStreamerError(error, 'CORRUPT_DATA')) throw error;
    return { payloads: out, error };
  }
  return { payloads: out, error: damage[0] };
}

const isPrefix = (got: string[]) => got.every((p, i) => p === payloads[i]);

beforeAll(async () => {
  const path = tempFile(dir, 'original');
  writeFileSync(path, '');
  const writer = await LogWriter.open(path, { beaconIntervalBytes: 1024, maxFileBytes: 2 ** 30 });
  payloads = Array.from({ length: 14 }, (_, i) => `payload-${i}-${'x'.repeat((i * 53) % 300)}`);
  await Promise.all(
    payloads.map((p, i) => writer.append(`s${i % 2}`, 0, undefined, Buffer.from(p))),
  );
  await writer.close(false);
  original = readFileSync(path);
  const decoder = new Decoder(1024, 128);
  decoder.feed(original.subarray(128));
  spans = [];
  for (let m = decoder.next(); m; m = decoder.next())
    spans.push({ start: m.offset, end: decoder.offset });
  expect(spans.length).toBe(payloads.length);
  expect(original.length).toBeGreaterThan(2 * 1024); // the file has two beacons
});

describe('corruption', () => {
  it('truncation at every offset: exactly the whole messages, CORRUPT_DATA inside a message', async () => {
    for (let n = 0; n <= original.length; n++) {
      const { payloads: got, error } = await read(original.subarray(0, n));
      const whole = spans.filter((s) => s.end <= n).length;
      expect(got, `truncated at ${n}`).toEqual(payloads.slice(0, whole));
      if (n < 128) expect(error?.code, `truncated at ${n}`).toBe('CORRUPT_DATA');
      else if (spans.some((s) => s.start < n && n < s.end)) {
        expect(error?.message, `truncated at ${n}`).toMatch(/offset \d+/);
      } else if (n === 128 || spans.some((s) => s.end === n)) {
        expect(error, `truncated at ${n}`).toBeUndefined();
      }
    }
  }, 120_000); // thousands of files: generous for a busy machine

  it('a flipped byte anywhere: never a crash or a hang; payloads read are right, damage is CORRUPT_DATA', async () => {
    let detected = 0;
    for (let at = 0; at < original.length; at++) {
      const bytes = Buffer.from(original);
      bytes[at] ^= 0xff;
      const { payloads: got, error } = await read(bytes);
      expect(isPrefix(got), `flipped byte at ${at}`).toBe(true);
      // A flip in a payload, its checksum or its CR is always caught. (Spliced messages are left
      // out: their span holds a beacon, whose items a sequential read does not check.)
      const span = spans.find((s) => s.start <= at && at < s.end);
      const spliced = span && Math.floor(span.start / 1024) !== Math.floor((span.end - 1) / 1024);
      if (span && !spliced && at >= span.end - 3 - payloads[spans.indexOf(span)].length) {
        expect(error?.code, `flipped byte at ${at}`).toBe('CORRUPT_DATA');
      }
      if (error) detected++;
    }
    expect(detected).toBeGreaterThan(original.length / 2);
  }, 120_000); // thousands of files: generous for a busy machine

  it('garbage appended: every message, then CORRUPT_DATA at the end of the real data', async () => {
    for (const length of [1, 7, 40, 500, 3000]) {
      const garbage = Buffer.from(Array.from({ length }, (_, i) => (i * 97 + length) & 0xff));
      const { payloads: got, error } = await read(Buffer.concat([original, garbage]));
      expect(got).toEqual(payloads);
      expect(error?.code).toBe('CORRUPT_DATA');
    }
  });

  it('with resync, reading goes on at the next beacon after damage, and the damage is reported', async () => {
    const bytes = Buffer.from(original);
    bytes[spans[1].end - 5] ^= 0x01; // in the payload of message 1
    const plain = await read(bytes);
    expect(plain.payloads).toEqual(payloads.slice(0, 1));
    expect(plain.error?.message).toContain(`offset ${spans[1].start}`);
    const resynced = await read(bytes, { resync: true });
    expect(resynced.error?.code).toBe('CORRUPT_DATA');
    const firstAfterBeacon = spans.findIndex((s) => s.start > 1024);
    expect(resynced.payloads).toEqual([payloads[0], ...payloads.slice(firstAfterBeacon)]);
  });

  it('a directory is a CONNECT error naming it, not a raw EISDIR', async () => {
    const header = await readHeader(dir).catch((e) => e);
    expect(header).toMatchObject({ code: 'CONNECT', message: expect.stringContaining(dir) });
    const messages = await readMessages(dir)
      .next()
      .catch((e) => e);
    expect(messages).toMatchObject({ code: 'CONNECT', message: expect.stringContaining(dir) });
  });
});
