import { connect, type Streamer } from '@streamer/core';

/**
 * Connects for a command. Files are created when written to, and `follow: false` makes a file
 * consumer end at the end of the file instead of waiting for more.
 */
export function open(
  url: string,
  protocol: string,
  use: { write?: boolean; follow?: boolean } = {},
): Promise<Streamer> {
  const options: Record<string, unknown> = {};
  if (protocol === 'file') {
    if (use.write) options.createIfNotExists = true;
    if (use.follow === false) options.follow = false;
  }
  return connect(url, options);
}

/** An AbortSignal that aborts on Ctrl-C or SIGTERM, so commands stop cleanly (acks committed). */
export function stopSignal(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}
