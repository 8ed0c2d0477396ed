// rediss:// against a redis-server of our own on a TLS port, with a CA made here by openssl.
import { connect } from '@streamer/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCertificates } from './support/certificates.js';
import { freshKey, open, take } from './support/helpers.js';
import { TestServer } from './support/server.js';

const certs = makeCertificates();
const { file, pem } = certs;
const server = new TestServer(['--tls-auth-clients', 'yes'], {
  cert: file('server.crt'),
  key: file('server.key'),
  ca: file('ca.crt'),
});
beforeAll(() => server.start());
afterAll(async () => {
  await server.stop();
  certs.remove();
});

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
