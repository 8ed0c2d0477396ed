/**
 * In-process change notices per file: a writer in this process tells readers of the same file
 * the moment it has written, without waiting for fs.watch or a poll.
 */
const listeners = new Map<string, Set<() => void>>();

export function onChange(path: string, listener: () => void): () => void {
  let set = listeners.get(path);
  if (!set) listeners.set(path, (set = new Set()));
  set.add(listener);
  return () => {
    set.delete(listener);
    if (set.size === 0 && listeners.get(path) === set) listeners.delete(path);
  };
}

export function notifyChange(path: string): void {
  const set = listeners.get(path);
  if (set) for (const listener of [...set]) listener();
}
