/**
 * Decoders for the byte streams the Docker engine sends: newline-delimited JSON (events,
 * pull progress) and the multiplexed stdout/stderr framing of container logs. Pure: they
 * take async iterables of bytes and know nothing of sockets.
 */
import type { LogLine } from './types.js';

export type Chunks = AsyncIterable<Uint8Array | string>;

/** Yields one parsed value per non-empty line; a line that is not JSON is skipped. */
export async function* jsonLines(chunks: Chunks): AsyncGenerator<unknown> {
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of chunks) {
    pending += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let newline = pending.indexOf('\n');
    while (newline >= 0) {
      const line = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      const value = parseJson(line);
      if (value !== undefined) yield value;
      newline = pending.indexOf('\n');
    }
  }
  const value = parseJson((pending + decoder.decode()).trim());
  if (value !== undefined) yield value;
}

function parseJson(line: string): unknown {
  if (!line) return undefined;
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

export interface Frame {
  stream: 'stdout' | 'stderr';
  data: Uint8Array;
}

const HEADER_BYTES = 8;

/**
 * Splits Docker's multiplexed log stream (used when the container has no TTY): each frame is
 * an 8-byte header — stream id in byte 0, payload size as big-endian uint32 in bytes 4..7 —
 * then the payload. Frames may arrive split across chunks or several in one chunk.
 */
export async function* demuxFrames(chunks: Chunks): AsyncGenerator<Frame> {
  let buffer: Uint8Array = new Uint8Array(0);
  for await (const chunk of chunks) {
    const bytes = typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk;
    buffer = concat(buffer, bytes);
    let offset = 0;
    while (buffer.length - offset >= HEADER_BYTES) {
      const view = new DataView(buffer.buffer, buffer.byteOffset + offset, HEADER_BYTES);
      const size = view.getUint32(4);
      if (buffer.length - offset - HEADER_BYTES < size) break;
      const streamId = buffer[offset];
      const data = buffer.subarray(offset + HEADER_BYTES, offset + HEADER_BYTES + size);
      offset += HEADER_BYTES + size;
      // 0 is stdin, which a log never carries; treat anything but stderr as stdout.
      yield { stream: streamId === 2 ? 'stderr' : 'stdout', data };
    }
    buffer = buffer.slice(offset);
  }
}

/** A raw (TTY) stream is all stdout. */
export async function* rawFrames(chunks: Chunks): AsyncGenerator<Frame> {
  for await (const chunk of chunks) {
    const data = typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk;
    yield { stream: 'stdout', data };
  }
}

const TIMESTAMP = /^(\d{4}-\d{2}-\d{2}T\S+Z) /;

/**
 * Reassembles frames into lines, per stream, since the engine splits long lines across
 * frames. With timestamps the engine puts an RFC 3339 time before each line.
 */
export async function* logLines(
  frames: AsyncIterable<Frame>,
  options: { timestamps?: boolean } = {},
): AsyncGenerator<LogLine> {
  const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
  const pending = { stdout: '', stderr: '' };
  const toLine = (stream: 'stdout' | 'stderr', raw: string): LogLine => {
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const match = options.timestamps ? TIMESTAMP.exec(text) : null;
    if (match?.[1]) return { stream, text: text.slice(match[0].length), timestamp: match[1] };
    return { stream, text };
  };
  for await (const frame of frames) {
    pending[frame.stream] += decoders[frame.stream].decode(frame.data, { stream: true });
    let newline = pending[frame.stream].indexOf('\n');
    while (newline >= 0) {
      yield toLine(frame.stream, pending[frame.stream].slice(0, newline));
      pending[frame.stream] = pending[frame.stream].slice(newline + 1);
      newline = pending[frame.stream].indexOf('\n');
    }
  }
  for (const stream of ['stdout', 'stderr'] as const) {
    const rest = pending[stream] + decoders[stream].decode();
    if (rest) yield toLine(stream, rest);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
