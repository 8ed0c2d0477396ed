import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { beaconSlots, type FileMessage, readMessages } from '../src/index.js';
import { LogWriter } from '../src/writer.js';
import { tempDir, tempFile } from './helpers.js';
import { beaconItemChecks, specDecode } from './spec-decoder.js';

const dir = tempDir('writer');

async function create(interval: number): Promise<{ path: string; writer: LogWriter }> {
  const path = tempFile(dir);
  writeFileSync(path, '');
  return {
    path,
    writer: await LogWriter.open(path, { beaconIntervalBytes: interval, maxFileBytes: 2 ** 40 }),
  };
}

async function all(path: string): Promise<FileMessage[]> {
  const out: FileMessage[] = [];
  for await (const m of readMessages(path)) out.push(m);
  return out;
}

function payloadOf(i: number, size: number): Buffer {
  return Buffer.from(Array.from({ length: size }, (_, j) => (i * 7 + j * 13) & 0xff));
}

describe('writer', () => {
  it('a file with interval 1024 and many streams decodes with the independent decoder', async () => {
    const { path, writer } = await create(1024);
    const streams = Array.from({ length: 12 }, (_, i) => `stream-${i}`);
    const sent: { key: string; shard: number; payload: Buffer; ms: number }[] = [];
    const receipts = [];
    for (let i = 0; i < 600; i++) {
      const key = streams[(i * 5) % streams.length];
      const shard = Math.floor(i / 12) % 3;
      const payload = payloadOf(i, (i * 37) % 900);
      const ms = 1_700_000_000_000 + i;
      sent.push({ key, shard, payload, ms });
      receipts.push(writer.append(key, shard, new Date(ms), payload));
    }
    await Promise.all(receipts);
    await writer.close(false);

    const spec = specDecode(readFileSync(path));
    expect(spec.interval).toBe(1024);
    expect(spec.eos).toBe(false);
    expect(spec.messages.length).toBe(sent.length);
    const next = new Map<string, bigint>();
    spec.messages.forEach((m, i) => {
      const s = sent[i];
      const source = `${s.key}/${s.shard}`;
      const seq = (next.get(source) ?? 0n) + 1n;
      next.set(source, seq);
      expect([m.key, m.shard, m.seq, m.ms]).toEqual([s.key, BigInt(s.shard), seq, BigInt(s.ms)]);
      expect(m.payload.equals(s.payload)).toBe(true);
    });
    // Beacons at every boundary, one item each (1 KiB), rotating over all 36 (stream, shard)s,
    // each item the latest message of its stream with the right running checksum.
    expect(spec.beacons.length).toBe(Math.floor(readFileSync(path).length / 1024));
    expect(beaconSlots(1024)).toBe(1);
    const listed = new Set<string>();
    for (const beacon of spec.beacons) expect(beacon.items.length).toBe(1);
    for (const { item, computed } of beaconItemChecks(spec)) {
      listed.add(`${item.key}/${item.shard}`);
      expect(computed).toBe(item.running);
    }
    expect(listed.size).toBe(36);
  });

  it('round-trips random messages of 0 B to several beacon intervals across many streams', async () => {
    const message = fc.record({
      stream: fc.constantFrom('a', 'b', 'orders', 'x.y_z-1', 'k'.repeat(200)),
      shard: fc.nat(5),
      size: fc.oneof(fc.nat(64), fc.nat(5000)),
      ms: fc.nat(2 ** 42),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(1024, 2048, 4096),
        fc.array(message, { maxLength: 60 }),
        async (interval, messages) => {
          const { path, writer } = await create(interval);
          const sent = messages.map((m, i) => ({ ...m, payload: payloadOf(i, m.size) }));
          await Promise.all(
            sent.map((m) => writer.append(m.stream, m.shard, new Date(m.ms), m.payload)),
          );
          await writer.close(false);
          const read = await all(path);
          expect(read.map((m) => [m.streamKey, m.shardId, m.timestamp.getTime()])).toEqual(
            sent.map((m) => [m.stream, m.shard, m.ms]),
          );
          expect(read.map((m) => Buffer.from(m.payload).toString('hex'))).toEqual(
            sent.map((m) => m.payload.toString('hex')),
          );
          expect(specDecode(readFileSync(path)).messages.length).toBe(sent.length);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('appending recovers sequences and running checksums, and removes a trailing EOS', async () => {
    const { path, writer } = await create(1024);
    for (let i = 0; i < 50; i++) writer.append(`s${i % 3}`, 0, undefined, payloadOf(i, 100));
    await writer.close(true);
    expect(specDecode(readFileSync(path)).eos).toBe(true);

    const again = await LogWriter.open(path, { beaconIntervalBytes: 4096, maxFileBytes: 2 ** 40 });
    expect(again.beaconInterval).toBe(1024); // the file's own
    const receipt = await again.append('s0', 0, undefined, payloadOf(99, 10));
    expect(receipt.sequence).toBe(18n); // s0 had 17 messages
    for (let i = 0; i < 30; i++) again.append(`s${i % 3}`, 0, undefined, payloadOf(i, 300));
    await again.close(false);

    const spec = specDecode(readFileSync(path));
    expect(spec.eos).toBe(false);
    expect(spec.messages.length).toBe(81);
    for (const { item, computed } of beaconItemChecks(spec)) expect(computed).toBe(item.running);
    const seqs = spec.messages.filter((m) => m.key === 's1').map((m) => m.seq);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => BigInt(i + 1)));
  });

  it('appending to a SeaStreamer file continues its sequence and drops its EOS', async () => {
    const path = tempFile(dir);
    writeFileSync(
      path,
      readFileSync(fileURLToPath(new URL('./fixtures/consumer.ss', import.meta.url))),
    );
    const writer = await LogWriter.open(path, { beaconIntervalBytes: 1024, maxFileBytes: 2 ** 40 });
    const receipt = await writer.append('hello', 1, undefined, Buffer.from('hello-100'));
    expect(receipt.sequence).toBe(100n);
    await writer.close(true);
    const messages = await all(path);
    expect(messages.map((m) => m.text()).slice(-2)).toEqual(['hello-99', 'hello-100']);
    expect(specDecode(readFileSync(path)).messages.length).toBe(101);
  });

  it('a half-written last message is cut off when appending', async () => {
    const { path, writer } = await create(1024);
    for (let i = 0; i < 5; i++) writer.append('s', 0, undefined, payloadOf(i, 50));
    await writer.close(false);
    const whole = readFileSync(path);
    writeFileSync(path, Buffer.concat([whole, whole.subarray(128, 150)]));
    const again = await LogWriter.open(path, { beaconIntervalBytes: 1024, maxFileBytes: 2 ** 40 });
    expect((await again.append('s', 0, undefined, Buffer.from('six'))).sequence).toBe(6n);
    await again.close(false);
    expect((await all(path)).map((m) => m.sequence)).toEqual([1n, 2n, 3n, 4n, 5n, 6n]);
  });

  it('refuses a message that would pass maxFileBytes, naming the limit', async () => {
    const path = tempFile(dir);
    writeFileSync(path, '');
    const writer = await LogWriter.open(path, { beaconIntervalBytes: 1024, maxFileBytes: 4096 });
    await writer.append('s', 0, undefined, payloadOf(0, 1000));
    const error = await writer.append('s', 0, undefined, payloadOf(1, 5000)).catch((e) => e);
    expect(error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(error.message).toContain('4096');
    await writer.close(false);
    expect((await all(path)).length).toBe(1);
  });

  for (const name of ['sample-1', 'quicksort']) {
    it(`writes ${name}.ss byte for byte as SeaStreamer did, given the same messages`, async () => {
      const fixture = readFileSync(
        fileURLToPath(new URL(`./fixtures/${name}.ss`, import.meta.url)),
      );
      const path = tempFile(dir);
      writeFileSync(path, fixture.subarray(0, 128)); // same name, creation time and interval
      const writer = await LogWriter.open(path, {
        beaconIntervalBytes: 1024,
        maxFileBytes: 2 ** 40,
      });
      const spec = specDecode(fixture);
      for (const m of spec.messages) {
        writer.append(m.key, Number(m.shard), new Date(Number(m.ms)), m.payload);
      }
      await writer.close(spec.eos);
      const ours = readFileSync(path);
      expect(ours.length).toBe(fixture.length);
      // Only the end-of-stream message's timestamp (the time it was written) may differ.
      const eosTime = spec.eos ? fixture.length - 1 - 2 - 3 - 4 - 8 : fixture.length;
      expect(ours.subarray(0, eosTime).equals(fixture.subarray(0, eosTime))).toBe(true);
      expect(ours.subarray(eosTime + 8).equals(fixture.subarray(eosTime + 8))).toBe(true);
    });
  }

  for (const as of ['bytes', 'strings'] as const) {
    it(`writes consumer.ss byte for byte from payloads as ${as}, beacons and splices included, continuing its first message`, async () => {
      const fixture = readFileSync(
        fileURLToPath(new URL('./fixtures/consumer.ss', import.meta.url)),
      );
      const spec = specDecode(fixture);
      const first = 128 + 1 + 5 + 24 + 4 + 7 + 3; // header and hello-0 (seq 0): ours count from 1
      const path = tempFile(dir);
      writeFileSync(path, fixture.subarray(0, first));
      const writer = await LogWriter.open(path, {
        beaconIntervalBytes: 1024,
        maxFileBytes: 2 ** 40,
      });
      for (const m of spec.messages.slice(1)) {
        const payload = as === 'bytes' ? m.payload : m.payload.toString('utf8');
        writer.append(m.key, Number(m.shard), new Date(Number(m.ms)), payload);
      }
      await writer.close(true);
      const ours = readFileSync(path);
      expect(ours.length).toBe(fixture.length);
      const eosTime = fixture.length - 1 - 2 - 3 - 4 - 8;
      expect(ours.subarray(0, eosTime).equals(fixture.subarray(0, eosTime))).toBe(true);
      expect(ours.subarray(eosTime + 8).equals(fixture.subarray(eosTime + 8))).toBe(true);
    });
  }

  it('stores a string payload as its UTF-8 bytes, the same file as from those bytes, splices included', async () => {
    // Multi-byte characters of 2, 3 and 4 bytes, in payloads long enough to cross 1 KiB beacons.
    const texts = Array.from({ length: 300 }, (_, i) => `${i}:${'é€😀x'.repeat((i * 7) % 150)}`);
    const files: Buffer[] = [];
    for (const as of ['bytes', 'strings']) {
      const { path, writer } = await create(1024);
      texts.forEach((text, i) => {
        const payload = as === 'bytes' ? Buffer.from(text, 'utf8') : text;
        writer.append(`s${i % 3}`, 0, new Date(1_700_000_000_000 + i), payload);
      });
      await writer.close(false);
      files.push(readFileSync(path));
    }
    const spec = specDecode(files[1]);
    expect(spec.messages.map((m) => m.payload.toString('utf8'))).toEqual(texts);
    expect(spec.beacons.length).toBeGreaterThan(10);
    for (const { item, computed } of beaconItemChecks(spec)) expect(computed).toBe(item.running);
    // The header differs only in its creation time and name; everything after it is the same.
    expect(files[1].subarray(128).equals(files[0].subarray(128))).toBe(true);
  });

  for (const [interval, streams] of [
    [1024, 12],
    [2048, 2],
  ] as const) {
    it(`appending to a long file (interval ${interval}, ${streams} streams) recovers from its last beacons`, async () => {
      const { path, writer } = await create(interval);
      for (let i = 0; i < 900; i++) {
        writer.append(`s${i % streams}`, i % 2, undefined, payloadOf(i, (i * 31) % 300));
      }
      await writer.close(false);
      expect(readFileSync(path).length / interval).toBeGreaterThan(64); // past the full-scan size
      const again = await LogWriter.open(path, {
        beaconIntervalBytes: interval,
        maxFileBytes: 2 ** 40,
      });
      for (let i = 0; i < 100; i++)
        again.append(`s${i % streams}`, i % 2, undefined, payloadOf(i, 50));
      await again.close(false);
      const spec = specDecode(readFileSync(path));
      const next = new Map<string, bigint>();
      for (const m of spec.messages) {
        const key = `${m.key}/${m.shard}`;
        const seq = (next.get(key) ?? 0n) + 1n;
        next.set(key, seq);
        expect(m.seq).toBe(seq);
      }
      for (const { item, computed } of beaconItemChecks(spec)) expect(computed).toBe(item.running);
    });
  }
});
