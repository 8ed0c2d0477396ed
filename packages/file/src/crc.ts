/**
 * CRC-16/CDMA2000 (polynomial 0xC867, initial 0xFFFF, no reflection, no final xor): the checksum
 * SeaStreamer puts after every payload. Check values: "123456789" → 0x4C06.
 */
const POLY = 0xc867;

const TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let bit = 0; bit < 8; bit++) c = c & 0x8000 ? (c << 1) ^ POLY : c << 1;
    table[i] = c & 0xffff;
  }
  return table;
})();

/**
 * Two bytes at a time: the CRC is linear, so the high byte's contribution after two steps comes
 * from its own table and is independent of the low byte's lookup.
 */
const TABLE2 = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) table[i] = ((TABLE[i] & 0xff) << 8) ^ TABLE[TABLE[i] >>> 8];
  return table;
})();

export const CRC_INIT = 0xffff;

/** Feeds `bytes[start, end)` into a CRC that has the value `crc` so far. */
export function crc16Update(crc: number, bytes: Uint8Array, start = 0, end = bytes.length): number {
  let i = start;
  for (; i + 1 < end; i += 2) {
    crc = TABLE2[(crc >>> 8) ^ bytes[i]] ^ TABLE[(crc & 0xff) ^ bytes[i + 1]];
  }
  if (i < end) crc = ((crc << 8) ^ TABLE[((crc >>> 8) ^ bytes[i]) & 0xff]) & 0xffff;
  return crc;
}

export function crc16(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return crc16Update(CRC_INIT, bytes, start, end);
}

/**
 * Feeds one message checksum (its two big-endian bytes) into a stream's running checksum, which
 * beacons carry so a reader can check that it saw every message of the stream.
 */
export function runningChecksum(running: number, checksum: number): number {
  running = ((running << 8) ^ TABLE[((running >>> 8) ^ (checksum >>> 8)) & 0xff]) & 0xffff;
  return ((running << 8) ^ TABLE[((running >>> 8) ^ checksum) & 0xff]) & 0xffff;
}
