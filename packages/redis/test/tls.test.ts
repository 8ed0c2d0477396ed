// rediss:// against a redis-server of our own on a TLS port, with a CA made here by openssl.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@streamer/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshKey, open, take } from './support/helpers.js';
import { TestServer } from './support/server.js';

const dir = mkdtempSync(join(tmpdir(), 'streamer-tls-'));
const file = (name: string) => join(dir, name);
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });

/** A self-signed CA, and a server and a client certificate signed by it. */
function makeCertificates(): void {
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '1',
    '-subj',
    '/CN=streamer-test-ca',
  );
  writeFileSync(file('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  for (const name of ['server', 'client']) {
    openssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=${name === 'server' ? 'localhost' : 'streamer-client'}`,
    );
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '1',
      '-extfile',
      'san.ext',
    );
  }
}

makeCertificates();
const server = new TestServer(['--tls-auth-clients', 'yes'], {
  cert: file('server.crt'),
  key: file('server.key'),
  ca: file('ca.crt'),
});
beforeAll(() => server.start());
afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

const pem = (name: string) => readFileSync(file(name));

describe('TLS (own server)', () => {
  it('rediss:// with the CA and a client certificate: produce and consume', async () => {
    const s = await open(server.url, {
      ca: pem('ca.crt'),
      cert: pem('client.crt'),
      key: pem('client.key'),
    });
    const key = freshKey('tls');
    const c = await s.createConsumer(key, { start: 'earliest' });
    await (await s.createProducer(key)).send('over tls');
    expect((await take(c, 1))[0].text()).toBe('over tls');
    await s.disconnect();
  });

  it('an unknown CA fails with CONNECT; insecure accepts it', async () => {
    const client = { cert: pem('client.crt'), key: pem('client.key') };
    const error = await connect(server.url, client).catch((e) => e);
    expect(error.code).toBe('CONNECT');
    expect(error.message).toMatch(/certificate/i);
    const s = await open(server.url, { ...client, insecure: true });
    await (await s.createProducer(freshKey('insecure'))).send('ok');
    await s.disconnect();
  });

  it('without the client certificate the server refuses: CONNECT', async () => {
    const error = await connect(server.url, { ca: pem('ca.crt'), timeoutMs: 2000 }).catch((e) => e);
    expect(error.code).toBe('CONNECT');
  });
});
