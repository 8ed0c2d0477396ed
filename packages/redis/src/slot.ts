/**
 * Redis Cluster's hash slot of a key: CRC16 (XMODEM) of the key, or of its hash tag (the part
 * between the first `{` and the next `}`, when not empty), modulo 16384.
 */
export function slotOf(key: string): number {
  // Hashed as a string of byte values, which stream keys already are (ASCII, see
  // validateStreamKey): no Buffer per send.
  // (A key is ASCII when its UTF-8 takes one byte per character.)
  const bytes = Buffer.byteLength(key) === key.length ? key : Buffer.from(key).toString('latin1');
  let start = 0;
  let end = bytes.length;
  const open = bytes.indexOf('{');
  if (open !== -1) {
    const close = bytes.indexOf('}', open + 1);
    if (close > open + 1) {
      start = open + 1;
      end = close;
    }
  }
  let crc = 0;
  for (let i = start; i < end; i++)
    crc = ((crc << 8) ^ TABLE[((crc >> 8) ^ bytes.charCodeAt(i)) & 0xff]) & 0xffff;
  return crc & 0x3fff;
}

const TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let bit = 0; bit < 8; bit++)
      c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    table[i] = c;
  }
  return table;
})();
