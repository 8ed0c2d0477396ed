import { describeValue, StreamerError } from './errors.js';
import { validateStreamKey } from './stream-key.js';
import type { StreamKey } from './types.js';

export interface StreamUrl {
  /** One URL per host (`redis://a:1,b:2/…` gives two), each with the credentials, path and query kept. */
  streamer: URL[];
  streams: StreamKey[];
}

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^?#]*)(\?[^#]*)?(?:#.*)?$/;

function split(input: string | URL): { scheme: string; rest: string; query: string } {
  const text = String(input);
  const match = SCHEME.exec(text);
  if (!match) {
    throw new StreamerError(
      'INVALID_URL',
      `Invalid URL ${describeValue(text)}: expected protocol://host/…, e.g. redis://localhost:6379`,
    );
  }
  return { scheme: match[1].toLowerCase(), rest: match[2], query: match[3] ?? '' };
}

function toUrls(text: string, scheme: string, authorityAndPath: string, query: string): URL[] {
  const slash = authorityAndPath.indexOf('/');
  const authority = slash < 0 ? authorityAndPath : authorityAndPath.slice(0, slash);
  const path = slash < 0 ? '' : authorityAndPath.slice(slash);
  const at = authority.lastIndexOf('@');
  const userinfo = at < 0 ? '' : authority.slice(0, at + 1);
  const hosts = (at < 0 ? authority : authority.slice(at + 1)).split(',');
  return hosts.map((host, i) => {
    if (host === '' && hosts.length > 1) {
      throw new StreamerError(
        'INVALID_URL',
        `Invalid URL ${describeValue(text)}: host ${i + 1} is empty`,
      );
    }
    try {
      return new URL(`${scheme}://${userinfo}${host}${path}${query}`);
    } catch (cause) {
      throw new StreamerError(
        'INVALID_URL',
        `Invalid URL ${describeValue(text)}: bad host ${describeValue(host)}`,
        {
          cause,
        },
      );
    }
  });
}

/**
 * Parses a streamer URL (what `connect` takes): `proto://[user:pass@]host[:port][,host2…][/path][?query]`.
 * Returns one URL per host.
 */
export function parseStreamerUrl(input: string | URL): URL[] {
  const { scheme, rest, query } = split(input);
  return toUrls(String(input), scheme, rest, query);
}

/**
 * Parses a stream URL: a streamer URL, then `/` and comma-separated stream keys, as SeaStreamer does:
 * `redis://localhost:6379/orders,payments`, `file:///tmp/log.ss/orders`, `stdio:///orders`.
 * The keys come after the last `/`, which is required (`redis://localhost/` names no streams).
 */
export function parseStreamUrl(input: string | URL): StreamUrl {
  const text = String(input);
  const { scheme, rest, query } = split(text);
  const slash = rest.lastIndexOf('/');
  if (slash < 0) {
    throw new StreamerError(
      'INVALID_URL',
      `Invalid stream URL ${describeValue(text)}: the stream keys follow a "/", e.g. ${scheme}://${rest}/my-stream`,
    );
  }
  const keys = rest.slice(slash + 1);
  const streams =
    keys === '' ? [] : keys.split(',').map((key) => validateStreamKey(decodeURIComponent(key)));
  return { streamer: toUrls(text, scheme, rest.slice(0, slash), query), streams };
}
