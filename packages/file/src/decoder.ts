import {
  type Beacon,
  corrupt,
  decodeBeacon,
  decodeMessage,
  type FileMessage,
  HEADER_SIZE,
  MESSAGE_OVERHEAD,
} from './format.js';

interface Gathered {
  bytes: Buffer;
  /** Index in the buffer just after the gathered bytes. */
  end: number;
  /** Beacons crossed: each says how many message bytes follow it, `left` is how many really do. */
  beacons: { remaining: number; offset: number; left: number }[];
}

/**
 * Turns the bytes of a `.ss` file, fed in order from a known offset, into messages: it steps over
 * beacons, joins spliced messages, and checks every CR, checksum and beacon. It does no I/O, so
 * the live tail, replay, seek and the appender share it.
 */
export class Decoder {
  readonly #interval: number;
  #buf: Buffer = Buffer.alloc(0);
  /** File offset of `#buf[0]`. */
  #bufOffset: number;
  #pos = 0;
  /** True until the first beacon after a start at a beacon boundary: skip its spliced bytes. */
  #aligning: boolean;
  /** Bytes the next message needs in all, when known: lets the reader read big messages at once. */
  needed = 0;
  /** The last beacon stepped over. */
  lastBeacon: Beacon | undefined;

  /**
   * `offset` is a message boundary (`HEADER_SIZE` for the first message) or a beacon boundary,
   * where the beacon's spliced bytes are skipped.
   */
  constructor(beaconInterval: number, offset: number) {
    this.#interval = beaconInterval;
    this.#bufOffset = Math.max(offset, HEADER_SIZE);
    this.#aligning = offset % beaconInterval === 0;
  }

  /** File offset of the next byte not decoded yet. */
  get offset(): number {
    return this.#bufOffset + this.#pos;
  }

  /** Bytes fed but not decoded yet (a partly written message, say). */
  get buffered(): number {
    return this.#buf.length - this.#pos;
  }

  /** Appends the file bytes that follow those fed so far. */
  feed(chunk: Buffer): void {
    if (chunk.length === 0) return;
    const rest = this.#buf.subarray(this.#pos);
    this.#bufOffset += this.#pos;
    this.#pos = 0;
    this.#buf = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
  }

  /**
   * Drops what is buffered and restarts at the first beacon after the current offset, to read on
   * after damage. Returns the new offset.
   */
  resync(): number {
    const next = (Math.floor(this.offset / this.#interval) + 1) * this.#interval;
    this.#buf = Buffer.alloc(0);
    this.#bufOffset = next;
    this.#pos = 0;
    this.#aligning = true;
    this.needed = 0;
    return next;
  }

  /** The next message, or undefined when more bytes are needed. Throws CORRUPT_DATA. */
  next(): FileMessage | undefined {
    const interval = this.#interval;
    for (;;) {
      const buf = this.#buf;
      const pos = this.#pos;
      const offset = this.#bufOffset + pos;
      if (offset % interval === 0) {
        if (!this.#stepOverBeacon(offset)) return undefined;
        continue;
      }
      this.#aligning = false;
      if (buf.length - pos < 1) return undefined;
      const room = interval - (offset % interval);
      const headerSize = MESSAGE_OVERHEAD - 3 + buf[pos]; // up to and with the payload size
      let size: number;
      if (headerSize <= room) {
        if (buf.length - pos < headerSize) return undefined;
        size = headerSize + buf.readUInt32BE(pos + headerSize - 4) + 3;
      } else {
        const head = this.#gather(headerSize);
        if (!head) return undefined;
        size = headerSize + head.bytes.readUInt32BE(headerSize - 4) + 3;
      }
      if (size <= room) {
        if (buf.length - pos < size) {
          this.needed = size;
          return undefined;
        }
        const message = decodeMessage(buf, pos, offset);
        this.#pos = pos + size;
        this.needed = 0;
        return message;
      }
      const whole = this.#gather(size);
      if (!whole) {
        this.needed = size + Math.ceil(size / interval) * (interval / 2);
        return undefined;
      }
      for (const beacon of whole.beacons) {
        if (beacon.remaining !== beacon.left) {
          throw corrupt(
            beacon.offset,
            `the beacon says ${beacon.remaining} bytes of a spliced message follow, but ${beacon.left} do`,
          );
        }
      }
      const message = decodeMessage(whole.bytes, 0, offset);
      this.#pos = whole.end;
      this.needed = 0;
      return message;
    }
  }

  /** Steps over the beacon at the current position; false when it is not all buffered yet. */
  #stepOverBeacon(offset: number): boolean {
    const decoded = decodeBeacon(this.#buf, this.#pos, offset);
    if (!decoded) return false;
    const { beacon, size } = decoded;
    if (this.#aligning) {
      // Started here: skip the tail of the message spliced by this beacon. If it runs past the
      // next beacon too, that beacon says how much of it is left.
      const skip = Math.min(beacon.remaining, this.#interval - size);
      if (this.#buf.length - this.#pos - size < skip) return false;
      this.#pos += size + skip;
      this.#aligning = skip < beacon.remaining;
    } else {
      if (beacon.remaining !== 0) {
        throw corrupt(
          offset,
          `the beacon says ${beacon.remaining} bytes of a spliced message follow, but a message ended before it`,
        );
      }
      this.#pos += size;
    }
    this.lastBeacon = beacon;
    return true;
  }

  /** `n` message bytes from the current position, stepping over beacons; undefined if not all buffered. */
  #gather(n: number): Gathered | undefined {
    const buf = this.#buf;
    const parts: Buffer[] = [];
    const beacons: Gathered['beacons'] = [];
    let p = this.#pos;
    let left = n;
    while (left > 0) {
      const offset = this.#bufOffset + p;
      if (offset % this.#interval === 0) {
        const decoded = decodeBeacon(buf, p, offset);
        if (!decoded) return undefined;
        beacons.push({ remaining: decoded.beacon.remaining, offset, left });
        p += decoded.size;
        continue;
      }
      const take = Math.min(left, this.#interval - (offset % this.#interval));
      if (buf.length - p < take) return undefined;
      parts.push(buf.subarray(p, p + take));
      p += take;
      left -= take;
    }
    return { bytes: Buffer.concat(parts), end: p, beacons };
  }
}
