import { type Streamer, StreamerError } from '@streamer/core';
import type { RedisStreamer } from '@streamer/redis';

/** The Redis manager API of a streamer; UNSUPPORTED naming the command on other backends. */
export function redisOnly(streamer: Streamer, command: string): RedisStreamer {
  if (streamer.backend !== 'redis') {
    throw new StreamerError(
      'UNSUPPORTED',
      `${command} works on redis:// streams only, not on ${streamer.backend}://`,
    );
  }
  return streamer as RedisStreamer;
}
