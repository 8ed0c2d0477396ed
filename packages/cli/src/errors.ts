import { StreamerError } from '@streamer/core';

/** A bad command line (exit code 2), as opposed to a failure while running (exit code 1). */
export class UsageError extends Error {
  constructor(readonly error: StreamerError) {
    super(error.message, { cause: error });
  }
}

/** Runs an argument check; its StreamerError becomes a usage error. */
export function usage<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof StreamerError) throw new UsageError(error);
    throw error;
  }
}

export function badUsage(message: string): UsageError {
  return new UsageError(new StreamerError('INVALID_ARGUMENT', message));
}
