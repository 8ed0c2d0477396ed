import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const fixture = (name: string) =>
  fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** Collects a child's output and exit code; `piped`: its stdout feeds another child, leave it alone. */
export function finished(
  child: ChildProcess,
  piped = false,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  if (!piped) child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs a fixture with `input` on its stdin. */
export function runFixture(name: string, args: string[], input: string | Buffer = '') {
  const child = spawn(process.execPath, [fixture(name), ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin!.end(input);
  return finished(child);
}

export const jsonLines = (text: string) =>
  text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
