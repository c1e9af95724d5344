import { randomBytes } from 'node:crypto';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { createHost, type Host } from '../../src/p2p/host.js';

/** A libp2p host on loopback with a fresh identity, in the given private network. */
export async function loopbackHost(networkSecret: Uint8Array): Promise<Host> {
  const host = await createHost({
    privateKey: await generateKeyPair('Ed25519'),
    networkSecret,
    listen: ['/ip4/127.0.0.1/tcp/0'],
  });
  return host;
}

export function newNetworkSecret(): Uint8Array {
  return new Uint8Array(randomBytes(32));
}

/** Resolves when `count` items have been pushed; a test waits on this instead of sleeping. */
export class Inbox<T> {
  readonly items: T[] = [];
  private waiters: Array<{ count: number; resolve: () => void }> = [];

  push(item: T): void {
    this.items.push(item);
    this.waiters = this.waiters.filter((w) => {
      if (this.items.length < w.count) return true;
      w.resolve();
      return false;
    });
  }

  async waitFor(count: number): Promise<T[]> {
    if (this.items.length < count) {
      await new Promise<void>((resolve) => this.waiters.push({ count, resolve }));
    }
    return this.items;
  }
}
