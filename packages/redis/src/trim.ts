import { StreamerError } from '@streamer/core';
import { describeValue, invalidArgument } from '@streamer/core/backend';
import { parseEntryId } from './entry-id.js';

export interface TrimOptions {
  /** Keep at most this many entries per shard key (`MAXLEN`). */
  maxLen?: number;
  /** Drop entries older than this (`MINID <ms>`). */
  minTimestamp?: Date;
  /** Drop entries with ids below this (`MINID <id>`). */
  minId?: string;
  /** `~`: trim whole macro nodes only, much cheaper, may keep a few more. Default true. */
  approximate?: boolean;
}

/** The `MAXLEN|MINID [~|=] threshold` arguments of XADD / XTRIM, or [] when nothing is set. */
export function trimArgs(options: TrimOptions): string[] {
  const { maxLen, minTimestamp, minId, approximate } = options;
  if (approximate !== undefined && typeof approximate !== 'boolean')
    throw invalidArgument('approximate', approximate, 'a boolean');
  const set = [maxLen, minTimestamp, minId].filter((v) => v !== undefined).length;
  if (set > 1) {
    throw new StreamerError(
      'INVALID_ARGUMENT',
      `Trim by one of maxLen, minTimestamp or minId, got ${describeValue({ maxLen, minTimestamp, minId })}`,
    );
  }
  const how = approximate === false ? '=' : '~';
  if (maxLen !== undefined) {
    if (typeof maxLen !== 'number' || !Number.isSafeInteger(maxLen) || maxLen < 0)
      throw invalidArgument('maxLen', maxLen, 'a non-negative integer');
    return ['MAXLEN', how, String(maxLen)];
  }
  if (minTimestamp !== undefined) {
    if (
      !(minTimestamp instanceof Date) ||
      Number.isNaN(minTimestamp.getTime()) ||
      minTimestamp.getTime() < 0
    )
      throw invalidArgument('minTimestamp', minTimestamp, 'a valid Date after 1970');
    return ['MINID', how, `${minTimestamp.getTime()}-0`];
  }
  if (minId !== undefined) {
    try {
      parseEntryId(minId);
    } catch {
      throw invalidArgument('minId', minId, 'a Redis entry id like "1678280595282-0"');
    }
    return ['MINID', how, minId];
  }
  return [];
}
