import { LogWriter, type WriterOptions } from './writer.js';

interface Entry {
  opening: Promise<LogWriter>;
  writer: LogWriter | undefined;
  users: number;
}

/** One writer per file per process, shared by every producer of that file. */
const entries = new Map<string, Entry>();
/** Writers being closed: a new one for the same file waits, so it sees the final bytes. */
const closing = new Map<string, Promise<void>>();

export async function acquireWriter(path: string, options: WriterOptions): Promise<LogWriter> {
  let entry = entries.get(path);
  if (!entry) {
    const opening = (async () => {
      await closing.get(path);
      return LogWriter.open(path, options);
    })();
    entry = { opening, writer: undefined, users: 0 };
    entries.set(path, entry);
    const created = entry;
    opening.then(
      (writer) => {
        created.writer = writer;
      },
      () => {
        if (entries.get(path) === created) entries.delete(path);
      },
    );
  }
  entry.users++;
  try {
    return await entry.opening;
  } catch (error) {
    entry.users--;
    throw error;
  }
}

/** A producer is done: fsync; the last one closes the file, with an end-of-stream mark if asked. */
export async function releaseWriter(path: string, endOfStream: boolean): Promise<void> {
  const entry = entries.get(path);
  if (!entry?.writer) return;
  if (--entry.users > 0) return entry.writer.sync();
  entries.delete(path);
  const closed = entry.writer.close(endOfStream);
  closing.set(
    path,
    closed.catch(() => {}),
  );
  try {
    await closed;
  } finally {
    if (closing.get(path) !== undefined) closing.delete(path);
  }
}

/** The writer this process has open on `path`, if any: its offset is the true end of the file. */
export function localWriter(path: string): LogWriter | undefined {
  return entries.get(path)?.writer;
}
