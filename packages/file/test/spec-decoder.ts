/**
 * A second decoder of the `.ss` format, written from the spec alone (docs/spec/ss-format.md) and on purpose unlike the
 * production one: it first cuts every beacon out of the file, then parses the messages that are
 * left, bit-by-bit CRC and all. Tests compare the two.
 */
export interface SpecMessage {
  key: string;
  shard: bigint;
  seq: bigint;
  ms: bigint;
  payload: Buffer;
  checksum: number;
}

export interface SpecBeacon {
  at: number;
  remaining: number;
  items: { key: string; shard: bigint; seq: bigint; ms: bigint; running: number }[];
}

export interface SpecFile {
  name: string;
  createdAt: bigint;
  interval: number;
  messages: SpecMessage[];
  beacons: SpecBeacon[];
  eos: boolean;
}

export function specCrc(bytes: Uint8Array, crc = 0xffff): number {
  for (const byte of bytes) {
    for (let bit = 7; bit >= 0; bit--) {
      const top = ((crc >> 15) & 1) ^ ((byte >> bit) & 1);
      crc = (crc << 1) & 0xffff;
      if (top) crc ^= 0xc867;
    }
  }
  return crc;
}

function header(file: Buffer, at: number) {
  const length = file[at];
  let p = at + 1 + length;
  const key = file.subarray(at + 1, p).toString('utf8');
  const shard = file.readBigUInt64BE(p);
  const seq = file.readBigUInt64BE(p + 8);
  const ms = file.readBigUInt64BE(p + 16);
  p += 24;
  return { key, shard, seq, ms, end: p };
}

export function specDecode(file: Buffer): SpecFile {
  if (file[0] !== 0x53 || file[1] !== 0x73 || file[2] !== 1) throw new Error('bad magic');
  const nameLength = file[3];
  const name = file.subarray(4, 4 + nameLength).toString('utf8');
  const createdAt = file.readBigUInt64BE(4 + nameLength);
  const interval = file.readUInt32BE(12 + nameLength);
  if (file[127] !== 0x0d) throw new Error('header must end with CR');

  // 1. Cut the beacons out.
  const beacons: SpecBeacon[] = [];
  const body: Buffer[] = [];
  let pos = 128;
  for (let boundary = interval; ; boundary += interval) {
    body.push(file.subarray(pos, Math.min(boundary, file.length)));
    if (boundary >= file.length) break;
    if (file[boundary] !== 0x0d) throw new Error(`beacon at ${boundary} must start with CR`);
    const remaining = file.readUInt32BE(boundary + 1);
    const count = file[boundary + 5];
    let p = boundary + 6;
    const items: SpecBeacon['items'] = [];
    for (let i = 0; i < count; i++) {
      const h = header(file, p);
      items.push({
        key: h.key,
        shard: h.shard,
        seq: h.seq,
        ms: h.ms,
        running: file.readUInt16BE(h.end),
      });
      p = h.end + 2;
    }
    if (file[p] !== 0x0d) throw new Error(`beacon at ${boundary} must end with CR`);
    beacons.push({ at: boundary, remaining, items });
    pos = p + 1;
  }

  // 2. Parse the messages.
  const stream = Buffer.concat(body);
  const messages: SpecMessage[] = [];
  let eos = false;
  let p = 0;
  while (p < stream.length) {
    const h = header(stream, p);
    const size = stream.readUInt32BE(h.end);
    const payload = Buffer.from(stream.subarray(h.end + 4, h.end + 4 + size));
    const checksum = stream.readUInt16BE(h.end + 4 + size);
    if (stream[h.end + 6 + size] !== 0x0d)
      throw new Error(`message ${messages.length} must end with CR`);
    if (specCrc(payload) !== checksum) throw new Error(`message ${messages.length}: bad checksum`);
    p = h.end + 7 + size;
    if (h.key === 'SEA_STREAMER_INTERNAL' && payload.toString() === 'EOS') {
      eos = true;
      break;
    }
    messages.push({ key: h.key, shard: h.shard, seq: h.seq, ms: h.ms, payload, checksum });
  }
  return { name, createdAt, interval, messages, beacons, eos };
}

/** The running checksum of every (stream, shard) after each message, as beacons should carry it. */
export function specRunning(messages: SpecMessage[]): number[] {
  const running = new Map<string, number>();
  return messages.map((m) => {
    const key = `${m.key}/${m.shard}`;
    const sum = Buffer.alloc(2);
    sum.writeUInt16BE(m.checksum);
    const next = specCrc(sum, running.get(key) ?? 0xffff);
    running.set(key, next);
    return next;
  });
}

/**
 * Every beacon item, with the running checksum of its (stream, shard) computed from the messages
 * up to the one it lists (undefined when no such message was found).
 */
export function beaconItemChecks(
  spec: SpecFile,
): { item: SpecBeacon['items'][number]; computed: number | undefined }[] {
  const running = specRunning(spec.messages);
  return spec.beacons.flatMap((beacon) =>
    beacon.items.map((item) => {
      const i = spec.messages.findIndex(
        (m) => m.key === item.key && m.shard === item.shard && m.seq === item.seq,
      );
      return { item, computed: running[i] };
    }),
  );
}
