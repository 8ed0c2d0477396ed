import type { FileHandle } from 'node:fs/promises';
import {
  type Beacon,
  type BeaconItem,
  decodeBeacon,
  type FileHeader,
  HEADER_SIZE,
} from './format.js';
import { LogReader } from './reader.js';

/** The beacon at `offset` (k × interval), or undefined when it is not (all) there. */
export async function readBeaconAt(
  handle: FileHandle,
  offset: number,
  interval: number,
): Promise<Beacon | undefined> {
  for (const size of [Math.min(interval, 16 * 1024), interval]) {
    const buf = Buffer.allocUnsafe(size);
    const { bytesRead } = await handle.read(buf, 0, size, offset);
    const decoded = decodeBeacon(buf.subarray(0, bytesRead), 0, offset);
    if (decoded) return decoded.beacon;
    if (bytesRead < size) return undefined;
  }
  return undefined;
}

/**
 * Where a reader starting now at "the end" begins: after the last whole message, or at a
 * trailing end-of-stream mark (so that it sees it). Scans forward from the last beacon.
 */
export async function findEnd(handle: FileHandle, header: FileHeader): Promise<number> {
  const { size } = await handle.stat();
  const interval = header.beaconInterval;
  const lastBeacon = Math.floor(size / interval) * interval;
  const reader = new LogReader(handle, header, Math.max(lastBeacon, HEADER_SIZE));
  try {
    while ((await reader.read(4096)).length > 0 && !reader.ended) {}
  } catch {
    // Damage after the last beacon: "the end" is where the readable part stops.
  }
  return reader.eosOffset ?? reader.offset;
}

/** Whether a beacon says its (stream, shard) is wholly before a target: undefined when it has no item for it. */
export type BeaconTest = (items: BeaconItem[]) => boolean | undefined;

/**
 * Binary search over the beacons: the offset of the last beacon that `before` says lies before
 * the target (every message up to it precedes what is wanted), or the first message's offset.
 * Beacons without an item for the source are stepped over toward the start.
 */
export async function searchBeacons(
  handle: FileHandle,
  header: FileHeader,
  before: BeaconTest,
): Promise<number> {
  const interval = header.beaconInterval;
  const { size } = await handle.stat();
  const cache = new Map<number, boolean | undefined>();
  const verdict = async (k: number) => {
    if (!cache.has(k)) {
      const beacon = await readBeaconAt(handle, k * interval, interval);
      cache.set(k, beacon ? before(beacon.items) : undefined);
    }
    return cache.get(k);
  };
  let lo = 0; // beacon 0 stands for the start of the file, before everything
  let hi = Math.floor(size / interval);
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    let k = mid;
    let found: boolean | undefined;
    while (k > lo && (found = await verdict(k)) === undefined) k--;
    if (k === lo) hi = mid - 1;
    else if (found) lo = k;
    else hi = k - 1;
  }
  return lo === 0 ? HEADER_SIZE : lo * interval;
}
