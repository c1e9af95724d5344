/**
 * A node's identity is an ed25519 key kept in its data directory, so its peer id (and so its
 * node id) survives restarts. The key file is written once, atomically, with mode 0600; a
 * file that exists but does not parse stops the agent rather than minting a new identity,
 * which would make the cluster see a stranger.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { SwarmtsError } from '../errors.js';

export const IDENTITY_FILE = 'node.key';

export class IdentityError extends SwarmtsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('internal', message, options);
  }
}

export interface Identity {
  privateKey: PrivateKey;
  /** The libp2p peer id, used as the node id everywhere. */
  nodeId: string;
}

export async function loadOrCreateIdentity(dataDir: string): Promise<Identity> {
  const path = join(dataDir, IDENTITY_FILE);
  let bytes: Uint8Array | undefined;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new IdentityError(`cannot read the node key ${path}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  if (bytes) return identityFrom(parseKey(bytes, path));

  const privateKey = await generateKeyPair('Ed25519');
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temporary, privateKeyToProtobuf(privateKey), { mode: 0o600, flag: 'wx' });
  await rename(temporary, path);
  return identityFrom(privateKey);
}

function parseKey(bytes: Uint8Array, path: string): PrivateKey {
  try {
    return privateKeyFromProtobuf(bytes);
  } catch (error) {
    throw new IdentityError(
      `the node key ${path} is corrupt (${(error as Error).message}); restore it from a backup, or remove the data directory and join the cluster again`,
      { cause: error },
    );
  }
}

function identityFrom(privateKey: PrivateKey): Identity {
  return { privateKey, nodeId: peerIdFromPrivateKey(privateKey).toString() };
}
