import { describe, expect, it } from 'vitest';
import '../../src/polyfill.js';

describe('Promise.withResolvers polyfill', () => {
  it('hands out a promise with its resolve function', async () => {
    const { promise, resolve } = Promise.withResolvers<number>();
    resolve(42);
    await expect(promise).resolves.toBe(42);
  });

  it('hands out a promise with its reject function', async () => {
    const { promise, reject } = Promise.withResolvers<number>();
    reject(new Error('boom'));
    await expect(promise).rejects.toThrow('boom');
  });
});
