/**
 * Join tokens: what `swarmts init` prints and `swarmts join --token` takes.
 *
 *   SWMTS-1-<network key>-<role secret><checksum>
 *
 * - `1` is the format version.
 * - The network key is the cluster's 32-byte private-network key: without it a machine cannot
 *   finish a connection handshake with any node (see p2p/private-network.ts).
 * - The role secret is 16 random bytes, one per role (worker, manager). A manager admits a
 *   joining node as the role whose secret it presents; rotating a role's secret invalidates
 *   the tokens printed before.
 * - The checksum is the last 4 characters of the second part: the first 20 bits of
 *   SHA-256("swarmts join token 1" ‖ key ‖ secret). It lets `parseJoinToken` tell a mistyped
 *   or truncated token (refused here, before any network traffic) from a well-formed token
 *   of another cluster or a rotated one (refused by the handshake or by the manager). A random
 *   typo slips through with probability 2^-20.
 *
 * Both byte strings are written in lowercase RFC 4648 base32 without padding (52 and 26
 * characters). Parsing trims surrounding whitespace, ignores case, and accepts only the
 * canonical encoding (unused trailing bits must be zero), so every token has one spelling.
 *
 * Error messages never repeat any part of the token: it is a credential and error messages
 * end up in terminals, logs and bug reports.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';
import { NETWORK_KEY_BYTES } from './private-network.js';

export interface JoinToken {
  /** The cluster's private-network key, 32 bytes. */
  networkKey: Uint8Array;
  /** The secret of the role the token joins as, 16 bytes. */
  roleSecret: Uint8Array;
}

/** A source of random bytes, e.g. `crypto.randomBytes`; injected so tests are deterministic. */
export type RandomBytes = (n: number) => Uint8Array;

export const ROLE_SECRET_BYTES = 16;

const PREFIX = 'swmts';
const VERSION = '1';
const CHECKSUM_CHARS = 4;
const CHECKSUM_DOMAIN = new TextEncoder().encode('swarmts join token 1');
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

const NETWORK_KEY_CHARS = base32Length(NETWORK_KEY_BYTES);
const ROLE_SECRET_CHARS = base32Length(ROLE_SECRET_BYTES);

export function newNetworkKey(random: RandomBytes): Uint8Array {
  return randomOfLength(random, NETWORK_KEY_BYTES);
}

export function newRoleSecret(random: RandomBytes): Uint8Array {
  return randomOfLength(random, ROLE_SECRET_BYTES);
}

export function formatJoinToken(token: JoinToken): string {
  checkLengths(token.networkKey, token.roleSecret);
  const key = base32Encode(token.networkKey);
  const secret = base32Encode(token.roleSecret);
  const sum = checksum(token.networkKey, token.roleSecret);
  return `${PREFIX.toUpperCase()}-${VERSION}-${key}-${secret}${sum}`;
}

/** Reads a token as a user typed or pasted it. Throws InvalidArgumentError, never echoing it. */
export function parseJoinToken(text: string): JoinToken {
  const parts = text.trim().toLowerCase().split('-');
  if (parts.length !== 4 || parts[0] !== PREFIX) {
    throw invalid('expected SWMTS-1-<network key>-<role secret>');
  }
  const [, version, keyText = '', secretText = ''] = parts;
  if (version !== VERSION) throw invalid('unsupported token version; this swarmts reads version 1');
  if (keyText.length !== NETWORK_KEY_CHARS) {
    throw invalid(`the network key part must have ${NETWORK_KEY_CHARS} characters`);
  }
  if (secretText.length !== ROLE_SECRET_CHARS + CHECKSUM_CHARS) {
    throw invalid(
      `the role secret part must have ${ROLE_SECRET_CHARS + CHECKSUM_CHARS} characters`,
    );
  }
  const networkKey = base32Decode(keyText);
  const roleSecret = base32Decode(secretText.slice(0, ROLE_SECRET_CHARS));
  if (!networkKey || !roleSecret) {
    throw invalid('not valid base32 (a character outside a-z and 2-7, or a mistyped last one)');
  }
  const expected = checksum(networkKey, roleSecret);
  if (!sameSecret(Buffer.from(secretText.slice(ROLE_SECRET_CHARS)), Buffer.from(expected))) {
    throw invalid('the checksum does not match (a mistyped or truncated token?)');
  }
  return { networkKey, roleSecret };
}

/** Compares two secrets in time independent of where they differ. Different lengths: false. */
export function sameSecret(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function invalid(reason: string): InvalidArgumentError {
  return new InvalidArgumentError(`invalid join token format: ${reason}`);
}

function randomOfLength(random: RandomBytes, n: number): Uint8Array {
  const bytes = random(n);
  if (bytes.length !== n) {
    throw new InvalidArgumentError(`the random source returned ${bytes.length} bytes, not ${n}`);
  }
  return Uint8Array.from(bytes); // a plain copy, also when the source hands out Buffers
}

function checkLengths(networkKey: Uint8Array, roleSecret: Uint8Array): void {
  if (networkKey.length !== NETWORK_KEY_BYTES) {
    throw new InvalidArgumentError(
      `a network key has ${NETWORK_KEY_BYTES} bytes, this one has ${networkKey.length}`,
    );
  }
  if (roleSecret.length !== ROLE_SECRET_BYTES) {
    throw new InvalidArgumentError(
      `a role secret has ${ROLE_SECRET_BYTES} bytes, this one has ${roleSecret.length}`,
    );
  }
}

/** The first 20 bits of a SHA-256 over key and secret, as 4 base32 characters. */
function checksum(networkKey: Uint8Array, roleSecret: Uint8Array): string {
  const digest = createHash('sha256')
    .update(CHECKSUM_DOMAIN)
    .update(networkKey)
    .update(roleSecret)
    .digest();
  return base32Encode(digest.subarray(0, 3)).slice(0, CHECKSUM_CHARS);
}

function base32Length(bytes: number): number {
  return Math.ceil((bytes * 8) / 5);
}

/** RFC 4648 base32, lowercase, no padding. */
export function base32Encode(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(buffer >>> bits) & 31];
    }
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/**
 * The inverse of base32Encode. Lowercase only; undefined for a character outside the
 * alphabet, an impossible length, or non-zero unused trailing bits (a non-canonical spelling).
 */
export function base32Decode(text: string): Uint8Array | undefined {
  const leftover = (text.length * 5) % 8;
  // Lengths whose trailing bits would form a whole byte (or more) cannot come from the encoder.
  if (leftover >= 5) return undefined;
  const out = new Uint8Array(Math.floor((text.length * 5) / 8));
  let buffer = 0;
  let bits = 0;
  let at = 0;
  for (const char of text) {
    const value = ALPHABET.indexOf(char);
    if (value < 0) return undefined;
    buffer = ((buffer << 5) | value) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (buffer >>> bits) & 0xff;
    }
  }
  if ((buffer & ((1 << bits) - 1)) !== 0) return undefined;
  return out;
}
