import { invalidArgument } from './errors.js';
import type { Supports } from './types.js';

// A record rather than a list, so that TypeScript fails here when Supports gains a key.
const KEYS: Record<keyof Supports, true> = {
  realtime: true,
  history: true,
  resumable: true,
  loadBalanced: true,
  failover: true,
  seek: true,
  rewind: true,
  shards: true,
  headers: true,
  timestamps: true,
  binaryPayloads: true,
  deliveryCount: true,
};

const SUPPORTS_KEYS = Object.keys(KEYS) as (keyof Supports)[];

/**
 * A backend's capability manifest: what `partial` says, every other capability false, frozen.
 * Names it does not know are refused, so a typo cannot turn a capability off unnoticed.
 */
export function defineSupports(partial: Partial<Supports>): Supports {
  if (typeof partial !== 'object' || partial === null || Array.isArray(partial))
    throw invalidArgument('supports', partial, 'an object of booleans');
  for (const [key, value] of Object.entries(partial)) {
    if (!Object.hasOwn(KEYS, key))
      throw invalidArgument('supports key', key, `one of ${SUPPORTS_KEYS.join(', ')}`);
    if (typeof value !== 'boolean')
      throw invalidArgument(`supports.${key}`, value, 'true or false');
  }
  const supports = {} as Supports;
  for (const key of SUPPORTS_KEYS) supports[key] = partial[key] ?? false;
  return Object.freeze(supports);
}
