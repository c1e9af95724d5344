import { describe, expect, it } from 'vitest';
import { demuxFrames, jsonLines, logLines } from '../../../src/runtime/streams.js';
import type { LogLine } from '../../../src/runtime/types.js';

async function* chunks(...parts: Array<Uint8Array | string>): AsyncGenerator<Uint8Array | string> {
  yield* parts;
}

async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

function frame(stream: 1 | 2, text: string): Uint8Array {
  const payload = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + payload.length);
  out[0] = stream;
  new DataView(out.buffer).setUint32(4, payload.length);
  out.set(payload, 8);
  return out;
}

describe('jsonLines', () => {
  it('parses objects split across chunks and several in one chunk', async () => {
    const values = await all(jsonLines(chunks('{"a":1}\n{"b"', ':2}\n{"c":3}\n', '{"d":4}')));
    expect(values).toEqual([{ a: 1 }, { b: 2 }, { c: 3 }, { d: 4 }]);
  });

  it('skips blank and malformed lines instead of failing the stream', async () => {
    const values = await all(jsonLines(chunks('\n{"ok":true}\nnot json\n\n{"ok":false}\n')));
    expect(values).toEqual([{ ok: true }, { ok: false }]);
  });

  it('keeps a multi-byte character split between chunks', async () => {
    const bytes = new TextEncoder().encode('{"name":"né"}\n');
    const values = await all(jsonLines(chunks(bytes.subarray(0, 11), bytes.subarray(11))));
    expect(values).toEqual([{ name: 'né' }]);
  });
});

describe('demuxFrames + logLines', () => {
  it('separates stdout from stderr and reassembles frames split across chunks', async () => {
    const bytes = new Uint8Array([
      ...frame(1, 'out1\n'),
      ...frame(2, 'err1\n'),
      ...frame(1, 'out2\n'),
    ]);
    const lines = await all(
      logLines(
        demuxFrames(chunks(bytes.subarray(0, 3), bytes.subarray(3, 17), bytes.subarray(17))),
      ),
    );
    expect(lines).toEqual<LogLine[]>([
      { stream: 'stdout', text: 'out1' },
      { stream: 'stderr', text: 'err1' },
      { stream: 'stdout', text: 'out2' },
    ]);
  });

  it('joins a long line the engine split over two frames, and keeps a last line without newline', async () => {
    const lines = await all(
      logLines(demuxFrames(chunks(frame(1, 'first half, '), frame(1, 'second half\nlast')))),
    );
    expect(lines.map((l) => l.text)).toEqual(['first half, second half', 'last']);
  });

  it('takes the engine timestamp off the front of each line', async () => {
    const lines = await all(
      logLines(demuxFrames(chunks(frame(1, '2026-11-25T18:00:00.123456789Z hello world\n'))), {
        timestamps: true,
      }),
    );
    expect(lines).toEqual([
      { stream: 'stdout', text: 'hello world', timestamp: '2026-11-25T18:00:00.123456789Z' },
    ]);
  });
});
