import { describe, expect } from 'vitest';
import { type ConformanceContext, expectCode, freshKey } from './context.js';

/** Headers and the timestamp send option: stored where supported, refused where not. */
export function headerAndTimestampTests(ctx: ConformanceContext): void {
  const { test, fromNow, take } = ctx;

  describe('headers and timestamps', () => {
    test('headers are stored and read back', { headers: true, realtime: true }, async (s) => {
      const key = freshKey('headers');
      const c = await fromNow(s, key);
      const p = await s.createProducer(key);
      await p.send('h', { headers: { trace: 'abc-123', 'content-type': 'text/plain' } });
      await p.send('none');
      const [m1, m2] = await take(c, 2);
      expect(m1!.headers).toEqual({ trace: 'abc-123', 'content-type': 'text/plain' });
      expect(m2!.headers).toEqual({});
    });

    test('the timestamp send option is stored', { timestamps: true, realtime: true }, async (s) => {
      const key = freshKey('ts');
      const c = await fromNow(s, key);
      const p = await s.createProducer(key);
      const at = new Date('2024-02-29T12:34:56.789Z');
      const receipt = await p.send('t', { timestamp: at });
      expect(receipt.timestamp.getTime()).toBe(at.getTime());
      const [m] = await take(c, 1);
      expect(m!.timestamp.getTime()).toBe(at.getTime());
    });

    test('without headers: a send with headers rejects UNSUPPORTED, naming the backend; {} is none', {
      headers: false,
    }, async (s) => {
      const p = await s.createProducer(freshKey('noheaders'));
      const error = await expectCode(p.send('h', { headers: { trace: 'x' } }), 'UNSUPPORTED');
      expect(error.message).toContain(s.backend);
      await p.flush().catch(() => {});
      await p.send('none', { headers: {} });
    });

    test('without timestamps: a send with a timestamp rejects UNSUPPORTED, naming the backend', {
      timestamps: false,
    }, async (s) => {
      const p = await s.createProducer(freshKey('nots'));
      const error = await expectCode(p.send('t', { timestamp: new Date() }), 'UNSUPPORTED');
      expect(error.message).toContain(s.backend);
      await p.flush().catch(() => {});
      expect((await p.send('t')).timestamp).toBeInstanceOf(Date);
    });
  });
}
