import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Every redis-server still running, killed when this process exits without stop() (a test that
 * timed out, a worker that vitest terminates), so that no cluster or Sentinel deployment outlives its test run.
 */
export const alive = new Set<ChildProcess>();
export const dirs = new Set<string>();
const killAll = () => {
  for (const child of alive) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
};
process.once('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killAll();
    // Die of the signal as before, unless someone else handles it.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  });
}

/** A port nobody listens on right now: bind port 0, read it, let it go. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export function hasRedisServer(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const INSTALL_HINT =
  'redis-server was not found on PATH and REDIS_URL is not set. Install Redis 7 ' +
  '(Debian/Ubuntu: "sudo apt-get install redis-server", macOS: "brew install redis") ' +
  'or point REDIS_URL at a server you may write to, e.g. REDIS_URL=redis://127.0.0.1:6379';

/**
 * A throwaway redis-server on a loopback port, with AOF fsynced on every write so an
 * acknowledged write survives kill -9. `restart()` brings it back on the same port and data.
 */
export class TestServer {
  readonly dir: string;
  #process: ChildProcess | undefined;
  port = 0;

  /** `tls`: listen for TLS only (`--tls-port`), with these files; `extraArgs` go last. */
  constructor(
    readonly extraArgs: string[] = [],
    readonly tls?: { cert: string; key: string; ca: string },
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'streamer-redis-'));
  }

  get url(): string {
    return `${this.tls ? 'rediss' : 'redis'}://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.#process?.pid;
  }

  async start(): Promise<this> {
    // Fault, ACL and TLS tests need a server of their own even when REDIS_URL is set.
    if (!hasRedisServer()) throw new Error(INSTALL_HINT.replace(' and REDIS_URL is not set', ''));
    if (this.port === 0) this.port = await freePort();
    const child = spawn(
      'redis-server',
      [
        ...(this.tls
          ? [
              '--port',
              '0',
              '--tls-port',
              String(this.port),
              '--tls-cert-file',
              this.tls.cert,
              '--tls-key-file',
              this.tls.key,
              '--tls-ca-cert-file',
              this.tls.ca,
            ]
          : ['--port', String(this.port)]),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--dir',
        this.dir,
        ...this.extraArgs,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.#process = child;
    await untilReady(child);
    return this;
  }

  /** kill -9: no shutdown, no final save: only what AOF fsynced survives. */
  async kill(): Promise<void> {
    if (await killChild(this.#process)) this.#process = undefined;
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * kill -9 of a redis-server (or sentinel) we started; resolves once it exited, with false when it
 * was not running.
 */
export async function killChild(child: ChildProcess | undefined): Promise<boolean> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return false;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  return true;
}

/** A redis-server that exited before it was ready, with what it printed. */
export class ServerExited extends Error {
  constructor(
    readonly code: number | null,
    readonly output: string,
  ) {
    super(`redis-server exited with ${code}: ${output}`);
  }
}

/**
 * Resolves once a spawned redis-server says it is ready (`ready`: what it prints then; a sentinel
 * prints its ID instead); rejects (ServerExited) if it exits first, with all it printed: on
 * 'close', not 'exit', which can come before the last output (a bind failure then read as an
 * exit with no output, and was not retried on another port).
 */
export function untilReady(
  child: ChildProcess,
  ready = 'Ready to accept connections',
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (!output.includes(ready)) return;
      child.stdout!.off('data', onData);
      child.stderr!.off('data', onData);
      child.off('close', onExit);
      // Keep draining its output, or a chatty server blocks on a full pipe.
      child.stdout!.resume();
      child.stderr!.resume();
      resolve();
    };
    const onExit = (code: number | null) => reject(new ServerExited(code, output));
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('close', onExit);
  });
}
