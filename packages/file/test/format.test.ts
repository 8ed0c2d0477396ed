import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  crc16,
  Decoder,
  decodeBeacon,
  decodeHeader,
  encodeHeader,
  type FileMessage,
  readHeader,
  readMessages,
} from '../src/index.js';
import { beaconItemChecks, specCrc, specDecode } from './spec-decoder.js';

const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url));
const fixture = (name: string) => `${FIXTURES}/${name}.ss`;

async function all(path: string): Promise<FileMessage[]> {
  const out: FileMessage[] = [];
  for await (const m of readMessages(path)) out.push(m);
  return out;
}

describe('CRC-16/CDMA2000', () => {
  it('has the check values of the spec', () => {
    expect(crc16(Buffer.from('123456789'))).toBe(0x4c06);
    expect(crc16(Buffer.from('hello, world'))).toBe(0x8028);
    expect(specCrc(Buffer.from('123456789'))).toBe(0x4c06);
    expect(crc16(Buffer.alloc(0))).toBe(0xffff);
  });

  it('agrees with a bitwise implementation on random bytes', () => {
    for (let n = 0; n < 300; n += 7) {
      const bytes = Buffer.from(Array.from({ length: n }, (_, i) => (i * 131 + n) & 0xff));
      expect(crc16(bytes)).toBe(specCrc(bytes));
    }
  });
});

describe('SeaStreamer fixtures', () => {
  for (const name of ['sample-1', 'consumer', 'quicksort']) {
    it(`${name}.ss: both decoders agree on every message's key, shard, seq, timestamp and payload`, async () => {
      const bytes = readFileSync(fixture(name));
      const spec = specDecode(bytes);
      const ours = await all(fixture(name));
      expect(ours.length).toBe(spec.messages.length);
      ours.forEach((m, i) => {
        const s = spec.messages[i];
        expect([m.streamKey, BigInt(m.shardId), m.sequence, BigInt(m.timestamp.getTime())]).toEqual(
          [s.key, s.shard, s.seq, s.ms],
        );
        expect(Buffer.from(m.payload).equals(s.payload)).toBe(true);
        expect(m.checksum).toBe(s.checksum);
      });
      const header = await readHeader(fixture(name));
      expect(header.fileName).toBe(spec.name);
      expect(BigInt(header.createdAt.getTime())).toBe(spec.createdAt);
      expect(header.beaconInterval).toBe(spec.interval);
      expect(header.version).toBe(1);
      // Every beacon's running checksum is the CRC over the message checksums of its stream.
      for (const { item, computed } of beaconItemChecks(spec)) expect(computed).toBe(item.running);
    });
  }

  it('sample-1.ss: file (1), breakpoint (4), event (22, seq 1..22), then EOS', async () => {
    const messages = await all(fixture('sample-1'));
    const count = (key: string) => messages.filter((m) => m.streamKey === key);
    expect(count('file').length).toBe(1);
    expect(count('breakpoint').length).toBe(4);
    expect(count('event').map((m) => m.sequence)).toEqual(
      Array.from({ length: 22 }, (_, i) => BigInt(i + 1)),
    );
    expect(messages.length).toBe(27);
    expect(specDecode(readFileSync(fixture('sample-1'))).eos).toBe(true);
    expect((await readHeader(fixture('sample-1'))).beaconInterval).toBe(1024 * 1024);
  });

  it('consumer.ss: hello shard 1, seq 0..99, payloads hello-0..hello-99, then EOS', async () => {
    const messages = await all(fixture('consumer'));
    expect(messages.map((m) => [m.streamKey, m.shardId, m.sequence, m.text()])).toEqual(
      Array.from({ length: 100 }, (_, i) => ['hello', 1, BigInt(i), `hello-${i}`]),
    );
    for (let i = 1; i < messages.length; i++) {
      expect(messages[i].timestamp >= messages[i - 1].timestamp).toBe(true);
    }
    expect(specDecode(readFileSync(fixture('consumer'))).eos).toBe(true);
  });

  it('consumer.ss: beacons 1..4 mark hello at 20, 42, 63, 85, each splicing a message', () => {
    const bytes = readFileSync(fixture('consumer'));
    const marks = [1, 2, 3, 4].map((k) => {
      const { beacon } = decodeBeacon(bytes, k * 1024, k * 1024)!;
      expect(beacon.remaining).toBeGreaterThan(0);
      expect(beacon.items.map((i) => [i.streamKey, i.shardId])).toEqual([['hello', 1]]);
      return beacon.items[0].sequence;
    });
    expect(marks).toEqual([20n, 42n, 63n, 85n]);
  });

  it('consumer.ss: a reader placed at beacon 1 continues with hello-21, at beacon 4 with hello-86', () => {
    const bytes = readFileSync(fixture('consumer'));
    const from = (k: number) => {
      const decoder = new Decoder(1024, k * 1024);
      decoder.feed(bytes.subarray(k * 1024));
      return decoder.next()!.text();
    };
    expect(from(1)).toBe('hello-21');
    expect(from(2)).toBe('hello-43');
    expect(from(3)).toBe('hello-64');
    expect(from(4)).toBe('hello-86');
  });

  it('quicksort.ss: seq 1..42 and no EOS, read to its end without error', async () => {
    const messages = await all(fixture('quicksort'));
    expect(messages.map((m) => m.sequence)).toEqual(
      Array.from({ length: 42 }, (_, i) => BigInt(i + 1)),
    );
    expect(messages.every((m) => m.streamKey === 'quicksort' && m.shardId === 0)).toBe(true);
    expect(specDecode(readFileSync(fixture('quicksort'))).eos).toBe(false);
  });

  it('headers round trip, and re-encoding a fixture header gives its bytes', () => {
    const bytes = readFileSync(fixture('consumer')).subarray(0, 128);
    const header = decodeHeader(bytes);
    expect(encodeHeader(header).equals(bytes)).toBe(true);
  });

  it('a damaged header is CORRUPT_DATA naming the offset', () => {
    const bytes = Buffer.from(readFileSync(fixture('consumer')).subarray(0, 128));
    bytes[0] = 0x54;
    expect(() => decodeHeader(bytes)).toThrow(/offset 0/);
    const short = bytes.subarray(0, 50);
    expect(() => decodeHeader(short)).toThrowError(
      expect.objectContaining({ code: 'CORRUPT_DATA' }),
    );
  });
});
