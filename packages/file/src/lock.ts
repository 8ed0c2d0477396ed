import { open, readFile, unlink } from 'node:fs/promises';
import { StreamerError } from '@streamer/core';

/** The locks this process holds. */
const held = new Set<string>();

/**
 * A writer's claim on a file, `<file>.lock` holding its pid: two processes appending to one file
 * would interleave their bytes. A lock whose process is gone (a crash) is taken over.
 */
export async function lockFile(path: string): Promise<() => Promise<void>> {
  const lock = `${path}.lock`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(lock, 'wx');
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      held.add(lock);
      return () => {
        held.delete(lock);
        return unlink(lock).catch(() => {});
      };
    } catch (error) {
      const code = (error as { code?: string }).code;
      // Where no lock file can be made (a read-only directory), writing goes on unguarded.
      if (code === 'EACCES' || code === 'EROFS' || code === 'EPERM') return async () => {};
      if (code !== 'EEXIST') throw error;
    }
    const owner = Number.parseInt(await readFile(lock, 'utf8').catch(() => ''), 10);
    // Our own pid in a lock we do not hold is a crashed process's: in a container the restarted
    // process often gets the same pid (1) again.
    if ((owner === process.pid && held.has(lock)) || (owner !== process.pid && alive(owner))) {
      throw new StreamerError(
        'BACKEND',
        `Stream file ${path} is being written by process ${owner} (see ${lock}); one process writes a file at a time`,
      );
    }
    await unlink(lock).catch(() => {}); // left by a process that is gone
  }
  throw new StreamerError('BACKEND', `Cannot take the write lock ${lock}`);
}

function alive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM';
  }
}
