/**
 * Sealing of secret data at rest. The key is the swarm's secrets key: 32 random bytes made at
 * `init`, kept by managers only (in swarm.json, never in the Raft log, never on workers) and
 * handed to a node when it becomes a manager (join response or its session with the leader).
 * A copy of a manager's Raft files (log, snapshots) does not reveal a secret, nor does a join
 * token or a worker's data dir. The secret's id is bound in as associated data, so sealed
 * bytes cannot be moved to another secret.
 */
import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';
import type { RandomBytes } from '../p2p/tokens.js';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export const SECRETS_KEY_BYTES = 32;

export class SecretSeal {
  private readonly aesKey: Buffer;

  constructor(
    /** The swarm's secrets key, as managers hold it and pass it on. */
    readonly key: Uint8Array,
    private readonly randomBytes: RandomBytes,
  ) {
    if (key.length !== SECRETS_KEY_BYTES) throw new Error('a secrets key is 32 bytes');
    this.aesKey = Buffer.from(hkdfSync('sha256', key, 'swarmts', 'secrets at rest v1', 32));
  }

  /** nonce ‖ ciphertext ‖ tag. */
  seal(secretId: string, data: Uint8Array): Uint8Array {
    const nonce = Buffer.from(this.randomBytes(NONCE_BYTES));
    const cipher = createCipheriv('aes-256-gcm', this.aesKey, nonce);
    cipher.setAAD(Buffer.from(secretId));
    const body = Buffer.concat([cipher.update(data), cipher.final()]);
    return Buffer.concat([nonce, body, cipher.getAuthTag()]);
  }

  /** Throws when the bytes were not sealed for this id with this swarm's key. */
  unseal(secretId: string, sealed: Uint8Array): Uint8Array {
    if (sealed.length < NONCE_BYTES + TAG_BYTES) throw new Error('sealed secret is too short');
    const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.length);
    const decipher = createDecipheriv('aes-256-gcm', this.aesKey, bytes.subarray(0, NONCE_BYTES));
    decipher.setAAD(Buffer.from(secretId));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    return Buffer.concat([
      decipher.update(bytes.subarray(NONCE_BYTES, bytes.length - TAG_BYTES)),
      decipher.final(),
    ]);
  }
}
