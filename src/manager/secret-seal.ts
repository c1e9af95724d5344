/**
 * Sealing of secret data at rest. The key is derived from the swarm's network key, which every
 * member holds in its data dir (swarm.json) and which never enters the Raft log: a copy of a
 * manager's Raft files alone (log, snapshots) does not reveal a secret. The secret's id is
 * bound in as associated data, so sealed bytes cannot be moved to another secret.
 */
import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';
import type { RandomBytes } from '../p2p/tokens.js';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export class SecretSeal {
  private readonly key: Buffer;

  constructor(
    networkKey: Uint8Array,
    private readonly randomBytes: RandomBytes,
  ) {
    this.key = Buffer.from(hkdfSync('sha256', networkKey, 'swarmts', 'secrets at rest v1', 32));
  }

  /** nonce ‖ ciphertext ‖ tag. */
  seal(secretId: string, data: Uint8Array): Uint8Array {
    const nonce = Buffer.from(this.randomBytes(NONCE_BYTES));
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    cipher.setAAD(Buffer.from(secretId));
    const body = Buffer.concat([cipher.update(data), cipher.final()]);
    return Buffer.concat([nonce, body, cipher.getAuthTag()]);
  }

  /** Throws when the bytes were not sealed for this id with this swarm's key. */
  unseal(secretId: string, sealed: Uint8Array): Uint8Array {
    if (sealed.length < NONCE_BYTES + TAG_BYTES) throw new Error('sealed secret is too short');
    const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.length);
    const decipher = createDecipheriv('aes-256-gcm', this.key, bytes.subarray(0, NONCE_BYTES));
    decipher.setAAD(Buffer.from(secretId));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    return Buffer.concat([
      decipher.update(bytes.subarray(NONCE_BYTES, bytes.length - TAG_BYTES)),
      decipher.final(),
    ]);
  }
}
