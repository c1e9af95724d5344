import { describe, expect, it } from 'vitest';
import { parseBytes, parseCpus, parseDuration, splitWords } from '../../../src/compose/units.js';

describe('units', () => {
  it.each([
    ['10s', 10e9],
    ['1m30s', 90e9],
    ['500ms', 5e8],
    ['2h', 7200e9],
    ['1.5s', 1.5e9],
    ['1h2m3s4ms5us6ns', 3723004005006],
    ['100µs', 100e3],
    ['0', 0],
    [0, 0],
  ])('duration %s → %d ns', (text, ns) => {
    expect(parseDuration(text)).toBe(ns);
  });

  it.each(['10', 10, '1d', 's', '-1s', '1m 30s', ''])('refuses the duration %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it.each([
    ['512M', 512 * 2 ** 20],
    ['512m', 512 * 2 ** 20],
    ['1g', 2 ** 30],
    ['1GB', 2 ** 30],
    ['1.5g', 1.5 * 2 ** 30],
    ['100k', 102_400],
    ['2048', 2048],
    ['64b', 64],
    [1048576, 1048576],
  ])('size %s → %d bytes', (text, bytes) => {
    expect(parseBytes(text)).toBe(bytes);
  });

  it.each(['lots', '1x', '-5M', 1.5])('refuses the size %j', (text) => {
    expect(parseBytes(text)).toBeUndefined();
  });

  it.each([
    ['0.5', 500_000_000],
    [0.25, 250_000_000],
    ['2', 2_000_000_000],
    ['.1', 100_000_000],
    ['0.000000001', 1],
  ])('cpus %s → %d NanoCPUs', (text, nano) => {
    expect(parseCpus(text)).toBe(nano);
  });

  it.each(['half', '-1', '0.0000000001'])('refuses the cpus %j', (text) => {
    expect(parseCpus(text)).toBeUndefined();
  });

  it('splits command lines like a POSIX shell', () => {
    expect(splitWords('nginx -g "daemon off;"')).toEqual(['nginx', '-g', 'daemon off;']);
    expect(splitWords("sh -c 'echo $HOME && exit 1'")).toEqual([
      'sh',
      '-c',
      'echo $HOME && exit 1',
    ]);
    expect(splitWords('  a\\ b  "c\\"d" e""f \'\' ')).toEqual(['a b', 'c"d', 'ef', '']);
    expect(splitWords('')).toEqual([]);
    expect(() => splitWords('a "b')).toThrow('unterminated quoted string');
    expect(() => splitWords('a \\')).toThrow('trailing backslash');
  });
});
