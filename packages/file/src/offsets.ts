import { randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { StreamerError } from '@streamer/core';

/**
 * A resumable group's durable state, kept beside the stream file in `<file>.<group>.offsets`:
 * where the group started, and per (stream, shard) the last sequence it committed.
 */
export interface GroupOffsets {
  /** File offset where the group began: messages of streams without a commit are read from here. */
  from: number;
  positions: Map<string, Map<number, bigint>>;
}

export function sidecarPath(file: string, group: string): string {
  return `${file}.${group}.offsets`;
}

export async function loadOffsets(path: string): Promise<GroupOffsets | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return undefined;
    throw new StreamerError(
      'BACKEND',
      `Cannot read offsets file ${path}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  try {
    const data = JSON.parse(text) as { from: number; positions: [string, number, string][] };
    if (!Number.isSafeInteger(data.from) || !Array.isArray(data.positions))
      throw new Error('bad shape');
    const positions = new Map<string, Map<number, bigint>>();
    for (const [stream, shard, seq] of data.positions) {
      let shards = positions.get(stream);
      if (!shards) positions.set(stream, (shards = new Map()));
      shards.set(shard, BigInt(seq));
    }
    return { from: data.from, positions };
  } catch (cause) {
    throw new StreamerError(
      'CORRUPT_DATA',
      `Offsets file ${path} is damaged: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }
}

/** Writes the state durably and atomically: a temporary file, fsynced, renamed over the old one. */
export async function saveOffsets(path: string, offsets: GroupOffsets): Promise<void> {
  const positions: [string, number, string][] = [];
  for (const [stream, shards] of offsets.positions)
    for (const [shard, seq] of shards) positions.push([stream, shard, seq.toString()]);
  const text = `${JSON.stringify({ version: 1, from: offsets.from, positions })}\n`;
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    await syncDirectory(dirname(path));
  } catch (cause) {
    await unlink(temp).catch(() => {});
    throw new StreamerError(
      'BACKEND',
      `Cannot write offsets file ${path}: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }
}

/** A rename is durable once its directory is synced (on Linux); where that fails, it is skipped. */
async function syncDirectory(path: string): Promise<void> {
  try {
    const handle = await open(path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // some platforms cannot open or sync a directory
  }
}
