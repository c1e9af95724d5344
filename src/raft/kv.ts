/**
 * A small key-value state machine for Raft's tests and benchmark: string keys and values,
 * put, delete and compare-and-set. (The cluster's own store comes with the state module.)
 */
import { InvalidArgumentError } from '../errors.js';
import { bufferView, decode, encode, BINARY_MARKER as MARKER } from '../wire/codec.js';
import type { StateMachine } from './driver.js';

export type KvCommand =
  | { op: 'put'; key: string; value: string }
  | { op: 'delete'; key: string }
  | { op: 'cas'; key: string; expected: string | null; value: string };

export interface KvResult {
  ok: boolean;
  /** The value after the command (for a failed cas: the value that did not match). */
  value: string | null;
  /** The Raft index that applied the command. */
  index: number;
}

export class KvStateMachine implements StateMachine {
  private data = new Map<string, string>();

  get(key: string): string | null {
    return this.data.get(key) ?? null;
  }

  get size(): number {
    return this.data.size;
  }

  entries(): Array<[string, string]> {
    return [...this.data.entries()];
  }

  apply(command: Uint8Array, entry: { index: number }): KvResult {
    const c = decodeKvCommand(command);
    switch (c.op) {
      case 'put':
        this.data.set(c.key, c.value);
        return { ok: true, value: c.value, index: entry.index };
      case 'delete':
        this.data.delete(c.key);
        return { ok: true, value: null, index: entry.index };
      case 'cas': {
        const current = this.data.get(c.key) ?? null;
        if (current !== c.expected) return { ok: false, value: current, index: entry.index };
        this.data.set(c.key, c.value);
        return { ok: true, value: c.value, index: entry.index };
      }
    }
  }

  /** Keys and values alternate in one flat list: half the time of a list of pairs. */
  snapshot(): Uint8Array {
    const flat = new Array<string>(this.data.size * 2);
    // Exact for ASCII text (a string's header is at most 5 bytes): see encode.
    let expectedBytes = 5;
    let i = 0;
    for (const [key, value] of this.data) {
      flat[i++] = key;
      flat[i++] = value;
      expectedBytes += key.length + value.length + 10;
    }
    return encode(flat, expectedBytes);
  }

  /** Reads the flat list, and the list of [key, value] pairs that earlier versions wrote. */
  restore(data: Uint8Array): void {
    const list = decode(data);
    if (!Array.isArray(list)) throw new InvalidArgumentError('kv snapshot is not a list');
    const pairs = list.length > 0 && Array.isArray(list[0]);
    const flat = pairs ? list.flat() : list;
    if (flat.length % 2 !== 0 || !flat.every((item) => typeof item === 'string')) {
      throw new InvalidArgumentError('kv snapshot is not a list of keys and values');
    }
    const restored = new Map<string, string>();
    for (let i = 0; i < flat.length; i += 2) restored.set(flat[i] as string, flat[i + 1] as string);
    this.data = restored;
  }
}

/**
 * Commands are binary: `0xc1, op, then each string as a 4-byte length and UTF-8` (put: key,
 * value; delete: key; cas: key, expected, value, or key, value when nothing is expected).
 * As msgpack maps, packing every command and reading it back on every member took 5–6 % of
 * a busy leader's time. 0xc1 is the one byte msgpack never uses: the maps that earlier
 * versions wrote are still read.
 */
const OP_PUT = 1;
const OP_DELETE = 2;
const OP_CAS = 3;
const OP_CAS_ABSENT = 4;

export function encodeKvCommand(command: KvCommand): Uint8Array {
  const [op, strings] = opAndStrings(command);
  let size = 2;
  for (const text of strings) size += 4 + Buffer.byteLength(text);
  const out = Buffer.allocUnsafe(size);
  out[0] = MARKER;
  out[1] = op;
  let offset = 2;
  for (const text of strings) {
    const length = out.write(text, offset + 4);
    out.writeUInt32LE(length, offset);
    offset += 4 + length;
  }
  return out;
}

function opAndStrings(command: KvCommand): [op: number, strings: string[]] {
  switch (command.op) {
    case 'put':
      return [OP_PUT, [command.key, command.value]];
    case 'delete':
      return [OP_DELETE, [command.key]];
    case 'cas':
      return command.expected === null
        ? [OP_CAS_ABSENT, [command.key, command.value]]
        : [OP_CAS, [command.key, command.expected, command.value]];
  }
}

export function decodeKvCommand(bytes: Uint8Array): KvCommand {
  if (bytes[0] !== MARKER) return parseCommand(decode(bytes));
  const view = bufferView(bytes);
  let offset = 2;
  const text = (): string => {
    if (offset + 4 > view.length) throw new InvalidArgumentError('kv command is cut short');
    const end = offset + 4 + view.readUInt32LE(offset);
    if (end > view.length) throw new InvalidArgumentError('kv command is cut short');
    const value = view.toString('utf8', offset + 4, end);
    offset = end;
    return value;
  };
  let command: KvCommand;
  switch (view[1]) {
    case OP_PUT:
      command = { op: 'put', key: text(), value: text() };
      break;
    case OP_DELETE:
      command = { op: 'delete', key: text() };
      break;
    case OP_CAS:
      command = { op: 'cas', key: text(), expected: text(), value: text() };
      break;
    case OP_CAS_ABSENT:
      command = { op: 'cas', key: text(), expected: null, value: text() };
      break;
    default:
      throw new InvalidArgumentError(`not a kv command (op ${view[1]})`);
  }
  if (offset !== view.length) throw new InvalidArgumentError('kv command has trailing bytes');
  return command;
}

/** The msgpack map form of earlier versions. */
function parseCommand(value: unknown): KvCommand {
  const c = value as Partial<Record<string, unknown>> | null;
  const isText = (v: unknown) => typeof v === 'string';
  if (c && isText(c.key)) {
    if (c.op === 'put' && isText(c.value)) return c as KvCommand;
    if (c.op === 'delete') return c as KvCommand;
    if (c.op === 'cas' && isText(c.value) && (c.expected === null || isText(c.expected))) {
      return c as KvCommand;
    }
  }
  throw new InvalidArgumentError('not a kv command');
}
