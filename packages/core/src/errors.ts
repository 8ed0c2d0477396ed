/** Every stable error code a backend may raise. Codes never change meaning; new ones may be added. */
export const ERROR_CODES = [
  'INVALID_ARGUMENT',
  'INVALID_STREAM_KEY',
  'INVALID_URL',
  'INVALID_PAYLOAD',
  'UNKNOWN_BACKEND',
  'BACKEND_NOT_INSTALLED',
  'CONNECT',
  'NOT_ANCHORED',
  'ALREADY_ANCHORED',
  'GROUP_REQUIRED',
  'GROUP_NOT_ALLOWED',
  'UNSUPPORTED',
  'PRODUCER_ENDED',
  'CONSUMER_ENDED',
  'DISCONNECTED',
  'STREAM_ENDED',
  'STREAM_NOT_FOUND',
  'TIMEOUT',
  'ABORTED',
  'CORRUPT_DATA',
  'PAYLOAD_TOO_LARGE',
  'NOT_REPLICATED',
  'BACKEND',
  'HANDLER_FAILED',
  'ALREADY_RUNNING',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface StreamerErrorOptions {
  cause?: unknown;
  /** True when trying the same operation again may succeed (a dropped connection, a timeout). */
  retriable?: boolean;
}

// A brand instead of plain `instanceof`: an app can end up with two copies of
// @streamer/core (one of its own, one a backend depends on), and errors thrown
// by either must still be recognised by the other.
const BRAND = Symbol.for('@streamer/core.StreamerError');

export class StreamerError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options: StreamerErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retriable = options.retriable ?? (code === 'TIMEOUT' || code === 'CONNECT');
    this.name = code === 'ABORTED' ? 'AbortError' : 'StreamerError';
    Object.defineProperty(this, BRAND, { value: true });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && BRAND in value;
  }
}

/** True when `error` is a StreamerError, optionally with the given code. */
export function isStreamerError(error: unknown, code?: ErrorCode): error is StreamerError {
  return error instanceof StreamerError && (code === undefined || error.code === code);
}

/** Renders a value for an error message: strings quoted, long values cut. */
export function describeValue(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = JSON.stringify(value);
  else if (typeof value === 'bigint') text = `${value}n`;
  else if (value instanceof Date)
    text = `Date(${Number.isNaN(value.getTime()) ? 'Invalid' : value.toISOString()})`;
  else if (typeof value === 'function') text = `function ${value.name || '(anonymous)'}`;
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export function invalidArgument(name: string, value: unknown, expected: string): StreamerError {
  return new StreamerError(
    'INVALID_ARGUMENT',
    `${name} must be ${expected}, got ${describeValue(value)}`,
  );
}

/**
 * The error an aborted signal turns into, keeping the signal's reason as cause: TIMEOUT for
 * `AbortSignal.timeout()`, ABORTED (named AbortError) otherwise.
 */
export function abortError(signal?: AbortSignal): StreamerError {
  const reason = signal?.reason as { name?: string } | undefined;
  if (reason?.name === 'TimeoutError') {
    return new StreamerError('TIMEOUT', 'The operation timed out', { cause: reason });
  }
  return new StreamerError('ABORTED', 'The operation was aborted', { cause: reason });
}
