import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeValue, StreamerError } from './errors.js';
import { memoryBackend } from './memory.js';
import { checkConnectOptions, markStrict } from './options.js';
import type { Backend, Streamer } from './types.js';
import { parseStreamerUrl } from './url.js';

/** The packages `connect` imports for each protocol when none was registered. */
export const BACKEND_PACKAGES: Readonly<Record<string, string>> = Object.freeze({
  redis: '@streamer/redis',
  rediss: '@streamer/redis',
  'redis+sentinel': '@streamer/redis',
  'rediss+sentinel': '@streamer/redis',
  file: '@streamer/file',
  stdio: '@streamer/stdio',
});

const registry = new Map<string, Backend | string>([['memory', memoryBackend]]);
const PROTOCOL = /^[a-z][a-z0-9+.-]*$/;

/**
 * Makes `connect` use `backend` for `protocol` (without the colon). `backend` is a Backend object,
 * or the name of a package that exports one as `backend`, imported on first use.
 */
export function registerBackend(protocol: string, backend: Backend | string): void {
  if (typeof protocol !== 'string' || !PROTOCOL.test(protocol)) {
    throw new StreamerError(
      'INVALID_ARGUMENT',
      `protocol must be lower case like "redis", got ${describeValue(protocol)}`,
    );
  }
  const valid =
    typeof backend === 'string' ? backend.length > 0 : typeof backend?.connect === 'function';
  if (!valid) {
    throw new StreamerError(
      'INVALID_ARGUMENT',
      `backend must be a package name or have a connect() method`,
    );
  }
  registry.set(protocol, backend);
}

/**
 * Connects to a streamer by URL: `redis://localhost:6379`, `file:///tmp/log.ss`, `stdio://`,
 * `memory://`. The backend package is found by protocol and imported on first use.
 *
 * A backend ignores options it does not know, here and in `createProducer` / `createConsumer`, so
 * one options object serves every URL. `strict: true` makes an unknown option (a typo) an
 * INVALID_ARGUMENT naming it instead, here and in every producer and consumer of the streamer.
 */
export async function connect(
  url: string | URL,
  options: Record<string, unknown> = {},
): Promise<Streamer> {
  const urls = parseStreamerUrl(url);
  if (typeof options !== 'object' || options === null) {
    throw new StreamerError(
      'INVALID_ARGUMENT',
      `connect options must be an object, got ${describeValue(options)}`,
    );
  }
  const protocol = urls[0].protocol.slice(0, -1);
  let backend = registry.get(protocol) ?? BACKEND_PACKAGES[protocol];
  if (backend === undefined) {
    const known = [...new Set([...registry.keys(), ...Object.keys(BACKEND_PACKAGES)])].sort();
    throw new StreamerError(
      'UNKNOWN_BACKEND',
      `No backend for protocol "${protocol}:" (known: ${known.join(', ')}); add one with registerBackend()`,
    );
  }
  if (typeof backend === 'string') {
    backend = await load(backend);
    registry.set(protocol, backend);
  }
  // After loading: the backend's package declares its option names when it is imported.
  const strict = checkConnectOptions(protocol, options);
  const streamer = await backend.connect(urls, options);
  if (strict) markStrict(streamer);
  return streamer;
}

async function load(name: string): Promise<Backend> {
  let module: { backend?: Backend };
  try {
    module = await import(name);
  } catch (error) {
    if (!isNotFound(error, name)) throw loadFailed(name, error);
    // Under pnpm's strict layout (and some monorepos) core's own folder cannot see the packages
    // the app installed, so a plain import() fails: look from the app's folders instead.
    const path = resolveFromApp(name);
    if (path === undefined) {
      throw new StreamerError(
        'BACKEND_NOT_INSTALLED',
        `The backend package ${name} is not installed: run "npm install ${name}"`,
        { cause: error },
      );
    }
    try {
      module = await import(pathToFileURL(path).href);
    } catch (cause) {
      throw loadFailed(name, cause);
    }
  }
  if (typeof module.backend?.connect !== 'function') {
    throw new StreamerError(
      'UNKNOWN_BACKEND',
      `${name} does not export a streamer backend (no "backend" export)`,
    );
  }
  return module.backend;
}

function isNotFound(error: unknown, name: string): boolean {
  const e = error as { code?: string; message?: string };
  return (
    (e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND') &&
    !!e.message?.includes(name)
  );
}

function loadFailed(name: string, cause: unknown): StreamerError {
  return new StreamerError(
    'BACKEND',
    `Loading the backend package ${name} failed: ${(cause as Error)?.message}`,
    {
      cause,
    },
  );
}

function resolveFromApp(name: string): string | undefined {
  const roots = [process.cwd()];
  if (process.argv[1]) roots.unshift(dirname(process.argv[1]));
  for (const root of roots) {
    try {
      return createRequire(join(root, 'noop.js')).resolve(name);
    } catch {
      // not visible from here; try the next root
    }
  }
  return undefined;
}
