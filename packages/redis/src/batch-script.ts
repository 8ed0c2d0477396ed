import { createHash } from 'node:crypto';
import { ErrorReply } from '@redis/client';

/**
 * XADDs a batch of entries to one key in one call, in order, and returns what each XADD returned:
 * its id, or its error (pcall: a failed entry does not stop the ones after it, as in a pipeline).
 * ARGV: the number of trim arguments, the trim arguments, the payload's field name, then per
 * entry its id, its number of header arguments, its payload and its header names and values.
 * Three arguments for a plain entry: every argument costs Node encoding time, Redis parsing time
 * and a Lua string. A script runs whole or not at all, so after a lost connection a batch is
 * either stored entirely or not at all.
 *
 * An EVALSHA script rather than a Redis Function: it needs no library installed on the server
 * (FUNCTION LOAD writes server state that persists, replicates and must be versioned) and works on
 * every Redis 7. The server's script cache is not replicated and is lost on restart, so NOSCRIPT
 * reloads it: the producer holds the batch, loads the script, and retries in order.
 */
export const BATCH_SCRIPT = `local key = KEYS[1]
local argc = #ARGV
local ntrim = tonumber(ARGV[1])
local field = ARGV[2 + ntrim]
local results = {}
local count = 0
local i = 3 + ntrim
if ntrim == 0 then
  while i <= argc do
    local n = tonumber(ARGV[i + 1])
    count = count + 1
    if n == 0 then
      results[count] = redis.pcall('XADD', key, ARGV[i], field, ARGV[i + 2])
    else
      results[count] = redis.pcall('XADD', key, ARGV[i], field, unpack(ARGV, i + 2, i + 2 + n))
    end
    i = i + 3 + n
  end
  return results
end
local cmd = {'XADD', key}
for t = 1, ntrim do cmd[2 + t] = ARGV[1 + t] end
local base = 2 + ntrim
cmd[base + 2] = field
while i <= argc do
  local n = tonumber(ARGV[i + 1])
  cmd[base + 1] = ARGV[i]
  for j = 0, n do cmd[base + 3 + j] = ARGV[i + 2 + j] end
  count = count + 1
  results[count] = redis.pcall(unpack(cmd, 1, base + 3 + n))
  i = i + 3 + n
end
return results`;

export const BATCH_SHA = createHash('sha1').update(BATCH_SCRIPT).digest('hex');

/** What a failed EVALSHA of the batch script asks of the producer. */
export type ScriptFailure =
  /** The server does not have the script (first use, restart, failover): load it, retry. */
  | 'reload'
  /** Scripts are not allowed here (ACL, renamed or disabled commands): write single XADDs. */
  | 'fallback';

export function scriptFailure(error: unknown): ScriptFailure | undefined {
  if (!(error instanceof ErrorReply)) return undefined;
  if (error.message.startsWith('NOSCRIPT')) return 'reload';
  // NOPERM names the command refused; a user who may not XADD is refused XADD itself later.
  if (/^NOPERM\b.*\b(evalsha|eval|script)\b/i.test(error.message)) return 'fallback';
  if (/^ERR unknown command .(evalsha|script)/i.test(error.message)) return 'fallback';
  return undefined;
}
