import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/** A fresh temporary directory, removed after the test file. */
export function tempDir(tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), `streamer-file-${tag}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

let counter = 0;
export function tempFile(dir: string, tag = 'f'): string {
  return join(dir, `${tag}-${++counter}.ss`);
}
