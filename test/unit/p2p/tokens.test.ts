import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../src/errors.js';
import {
  base32Decode,
  base32Encode,
  formatJoinToken,
  type JoinToken,
  newNetworkKey,
  newRoleSecret,
  parseJoinToken,
  sameSecret,
} from '../../../src/p2p/tokens.js';
import { Rng } from '../../sim/rng.js';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/** A deterministic random source. */
function seededRandom(seed: number): (n: number) => Uint8Array {
  const rng = new Rng(seed);
  return (n) => Uint8Array.from({ length: n }, () => rng.int(256));
}

function sampleToken(seed = 1): JoinToken {
  const random = seededRandom(seed);
  return { networkKey: newNetworkKey(random), roleSecret: newRoleSecret(random) };
}

/** Runs `fn`, expects an InvalidArgumentError and returns it. */
function refusal(fn: () => unknown): InvalidArgumentError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).code).toBe('invalid_argument');
    return error as InvalidArgumentError;
  }
  throw new Error('expected an InvalidArgumentError, nothing was thrown');
}

/** No 6-character stretch of the token's key or secret appears in `message`. */
function expectNoEcho(message: string, token: string): void {
  const body = token.toLowerCase().replace(/^swmts-1-/, '');
  const lower = message.toLowerCase();
  for (let i = 0; i + 6 <= body.length; i++) {
    const piece = body.slice(i, i + 6);
    if (piece.includes('-')) continue;
    expect(lower.includes(piece), `message echoes "${piece}"`).toBe(false);
  }
}

describe('base32', () => {
  it('matches the RFC 4648 test vectors, lowercase and without padding', () => {
    const vectors: [string, string][] = [
      ['', ''],
      ['f', 'my'],
      ['fo', 'mzxq'],
      ['foo', 'mzxw6'],
      ['foob', 'mzxw6yq'],
      ['fooba', 'mzxw6ytb'],
      ['foobar', 'mzxw6ytboi'],
    ];
    for (const [plain, encoded] of vectors) {
      const bytes = new TextEncoder().encode(plain);
      expect(base32Encode(bytes)).toBe(encoded);
      expect(base32Decode(encoded)).toEqual(bytes);
    }
  });

  it('round-trips every length up to 40 bytes', () => {
    const random = seededRandom(7);
    for (let n = 0; n <= 40; n++) {
      const bytes = random(n);
      expect(base32Decode(base32Encode(bytes))).toEqual(bytes);
    }
  });

  it('refuses foreign characters, impossible lengths and non-canonical trailing bits', () => {
    expect(base32Decode('mzxw1')).toBeUndefined(); // '1' is not in the alphabet
    expect(base32Decode('MZXW6')).toBeUndefined(); // the decoder itself is lowercase only
    expect(base32Decode('m')).toBeUndefined(); // 5 bits cannot end a byte string
    expect(base32Decode('mzx')).toBeUndefined(); // nor 15
    expect(base32Decode('mz')).toBeUndefined(); // 'f' is spelled "my"; "mz" sets an unused bit
  });
});

describe('join tokens', () => {
  it('round-trips, in the documented shape', () => {
    const token = sampleToken();
    const text = formatJoinToken(token);
    expect(text).toMatch(/^SWMTS-1-[a-z2-7]{52}-[a-z2-7]{30}$/);
    expect(parseJoinToken(text)).toEqual(token);
  });

  it('round-trips keys from the real random source', () => {
    for (let i = 0; i < 20; i++) {
      const token = {
        networkKey: newNetworkKey(randomBytes),
        roleSecret: newRoleSecret(randomBytes),
      };
      expect(parseJoinToken(formatJoinToken(token))).toEqual(token);
    }
  });

  it('trims surrounding whitespace and ignores case', () => {
    const token = sampleToken(2);
    const text = formatJoinToken(token);
    expect(parseJoinToken(`  \n${text}\t \r\n`)).toEqual(token);
    expect(parseJoinToken(text.toUpperCase())).toEqual(token);
    expect(parseJoinToken(text.toLowerCase())).toEqual(token);
  });

  it('refuses a token with any one character changed (the checksum tells typos apart)', () => {
    const text = formatJoinToken(sampleToken(3));
    const bodyStart = 'SWMTS-1-'.length;
    let checked = 0;
    for (let i = bodyStart; i < text.length; i++) {
      const original = text[i]!;
      if (original === '-') continue;
      // The next letter of the alphabet: always a valid character, never the same one.
      const replacement = ALPHABET[(ALPHABET.indexOf(original) + 1) % ALPHABET.length]!;
      const tampered = text.slice(0, i) + replacement + text.slice(i + 1);
      const error = refusal(() => parseJoinToken(tampered));
      expect(error.message).toMatch(/^invalid join token format/);
      expectNoEcho(error.message, text);
      checked++;
    }
    expect(checked).toBe(52 + 30);
  });

  it('says "checksum" for a typo and something else for a malformed token', () => {
    const text = formatJoinToken(sampleToken(4));
    // Swapping two different neighbouring characters keeps the format but breaks the checksum.
    const i = text.lastIndexOf('-') + 3;
    const a = text[i]!;
    const b = text[i + 1]!;
    expect(a).not.toBe(b);
    const swapped = text.slice(0, i) + b + a + text.slice(i + 2);
    expect(refusal(() => parseJoinToken(swapped)).message).toMatch(/checksum/);
    expect(refusal(() => parseJoinToken(text.slice(0, -1))).message).not.toMatch(/checksum/);
  });

  it('refuses another prefix or version, a wrong length, or a foreign character', () => {
    const text = formatJoinToken(sampleToken(5));
    const [, , key = '', secret = ''] = text.split('-');
    const bad = [
      '',
      '   ',
      `SWMTKN-1-${key}-${secret}`,
      `SWMTS-2-${key}-${secret}`,
      `SWMTS-01-${key}-${secret}`,
      `SWMTS-${key}-${secret}`,
      `SWMTS-1-${key}${secret}`,
      `SWMTS-1-${key}-${secret}-extra`,
      `SWMTS-1-${key.slice(1)}-${secret}`,
      `SWMTS-1-${key}a-${secret}`,
      `SWMTS-1-${key}-${secret.slice(1)}`,
      `SWMTS-1-${key}-${secret}a`,
      `SWMTS-1-${key}-${secret.slice(0, 26)}`,
      `SWMTS-1-${key.slice(0, -1)}1-${secret}`,
      `SWMTS-1-${key}-${secret.slice(0, -1)}8`,
      `SWMTS-1-${key.slice(0, 20)} ${key.slice(21)}-${secret}`,
      `SWMTS 1 ${key} ${secret}`,
    ];
    for (const input of bad) {
      const error = refusal(() => parseJoinToken(input));
      expect(error.message).toMatch(/^invalid join token format/);
      expectNoEcho(error.message, text);
    }
  });

  it('refuses to format or make keys of the wrong size, without printing them', () => {
    const token = sampleToken(6);
    const shortKey = { ...token, networkKey: token.networkKey.subarray(0, 31) };
    const longSecret = { ...token, roleSecret: new Uint8Array(17).fill(0xab) };
    expectNoEcho(refusal(() => formatJoinToken(shortKey)).message, formatJoinToken(token));
    refusal(() => formatJoinToken(longSecret));
    refusal(() => newNetworkKey(() => new Uint8Array(16)));
    refusal(() => newRoleSecret(() => new Uint8Array(32)));
  });

  it('asks the injected random source for 32 and 16 bytes', () => {
    const asked: number[] = [];
    const random = (n: number): Uint8Array => {
      asked.push(n);
      return new Uint8Array(n);
    };
    expect(newNetworkKey(random)).toHaveLength(32);
    expect(newRoleSecret(random)).toHaveLength(16);
    expect(asked).toEqual([32, 16]);
  });
});

describe('sameSecret', () => {
  it('compares contents, and different lengths are simply different', () => {
    const a = Uint8Array.from([1, 2, 3, 4]);
    expect(sameSecret(a, Uint8Array.from([1, 2, 3, 4]))).toBe(true);
    expect(sameSecret(a, Uint8Array.from([1, 2, 3, 5]))).toBe(false);
    expect(sameSecret(a, Uint8Array.from([1, 2, 3]))).toBe(false);
    expect(sameSecret(new Uint8Array(0), new Uint8Array(0))).toBe(true);
  });

  it('compares the role secrets of parsed tokens', () => {
    const one = sampleToken(8);
    const other = sampleToken(9);
    const parsed = parseJoinToken(formatJoinToken(one));
    expect(sameSecret(parsed.roleSecret, one.roleSecret)).toBe(true);
    expect(sameSecret(parsed.roleSecret, other.roleSecret)).toBe(false);
  });
});
