import { describe, expect, it } from 'vitest';
import { dockerLogFrame, type ServiceLogEntry } from '../../../src/agent/service-logs.js';
import {
  API_VERSION,
  commonHeaders,
  stripNulls,
  unknownRoute,
} from '../../../src/api/docker-compat.js';
import type { Task } from '../../../src/state/service-types.js';

// ---- stripNulls --------------------------------------------------------------------------

describe('stripNulls', () => {
  it('drops nulls at any depth, as Go marshals empty slices, maps and pointers', () => {
    const body = {
      Name: 'web',
      Labels: null,
      TaskTemplate: {
        ContainerSpec: { Image: 'nginx', Args: null, Env: ['A=1'], Healthcheck: { Test: null } },
        Placement: { Constraints: null },
        Networks: [{ Target: 'front', Aliases: null }],
      },
      EndpointSpec: { Ports: null },
    };
    expect(stripNulls(body)).toEqual({
      Name: 'web',
      TaskTemplate: {
        ContainerSpec: { Image: 'nginx', Env: ['A=1'], Healthcheck: {} },
        Placement: {},
        Networks: [{ Target: 'front' }],
      },
      EndpointSpec: {},
    });
  });

  it('keeps label values that are empty strings, and other falsy values', () => {
    expect(stripNulls({ Labels: { team: '', env: 'prod', gone: null } })).toEqual({
      Labels: { team: '', env: 'prod' },
    });
    expect(stripNulls({ ReadOnly: false, Replicas: 0, Order: '' })).toEqual({
      ReadOnly: false,
      Replicas: 0,
      Order: '',
    });
  });

  it('keeps every array item, in order', () => {
    expect(stripNulls({ Args: ['', '0', 'x'], Counts: [0, 1], Flags: [false, true] })).toEqual({
      Args: ['', '0', 'x'],
      Counts: [0, 1],
      Flags: [false, true],
    });
    expect(stripNulls([{ a: null, b: 1 }, { c: 2 }])).toEqual([{ b: 1 }, { c: 2 }]);
  });

  it('leaves its input alone', () => {
    const body = { Labels: null, Spec: { Data: null } };
    stripNulls(body);
    expect(body).toEqual({ Labels: null, Spec: { Data: null } });
  });
});

// ---- unknownRoute ------------------------------------------------------------------------

const request = (method: string, path: string) => ({
  method,
  path,
  query: new URLSearchParams(),
  body: undefined,
});

describe('unknownRoute', () => {
  it.each([
    ['GET', '/containers/json', 'containers'],
    ['GET', '/images/json', 'images'],
    ['POST', '/build', 'build'],
    ['GET', '/distribution/nginx:1.27/json', 'distribution'],
    ['GET', '/volumes', 'volumes'],
    ['POST', '/swarm/unlock', 'swarm/unlock'],
  ])('answers %s %s with 501 and a Docker message', (method, path, area) => {
    const answer = unknownRoute(request(method, path));
    expect(answer.status).toBe(501);
    expect(Object.keys(answer.body as object)).toEqual(['message']);
    expect((answer.body as { message: string }).message).toContain(`/${area}`);
  });

  it('answers 404 for a path that is no Docker endpoint', () => {
    for (const path of ['/nope', '/containersx', '/image', '/']) {
      const answer = unknownRoute(request('GET', path));
      expect(answer.status).toBe(404);
      expect(answer.body).toEqual({ message: `page not found: GET ${path}` });
    }
  });

  it('sends the API version on every answer', () => {
    expect(API_VERSION).toBe('1.47');
    expect(commonHeaders()).toMatchObject({ 'api-version': '1.47', ostype: 'linux' });
  });
});

// ---- dockerLogFrame ----------------------------------------------------------------------

/**
 * Docker's stdcopy.StdCopy: frames of an 8-byte header (stream id, three zero bytes, the
 * payload length big-endian) and the payload. Throws on anything StdCopy would refuse.
 */
function demux(bytes: Uint8Array): Array<{ stream: 'stdout' | 'stderr'; text: string }> {
  const buffer = Buffer.from(bytes);
  const frames: Array<{ stream: 'stdout' | 'stderr'; text: string }> = [];
  let at = 0;
  while (at < buffer.length) {
    if (buffer.length - at < 8) throw new Error('truncated header');
    const id = buffer[at];
    if (id !== 1 && id !== 2) throw new Error(`unknown stream id ${id}`);
    if (buffer[at + 1] !== 0 || buffer[at + 2] !== 0 || buffer[at + 3] !== 0) {
      throw new Error('header padding is not zero');
    }
    const length = buffer.readUInt32BE(at + 4);
    if (buffer.length - at - 8 < length) throw new Error('truncated payload');
    frames.push({
      stream: id === 1 ? 'stdout' : 'stderr',
      text: buffer.subarray(at + 8, at + 8 + length).toString('utf8'),
    });
    at += 8 + length;
  }
  return frames;
}

const task = { ID: 'task1abc', ServiceID: 'svc9xyz', Slot: 1, NodeID: '12D3KooWnode1' } as Task;

function line(
  text: string,
  stream: 'stdout' | 'stderr' = 'stdout',
  timestamp?: string,
): ServiceLogEntry {
  return {
    kind: 'line',
    task,
    nodeId: '12D3KooWnode1',
    hostname: 'node1',
    line: { task: 'task1abc', stream, text, ...(timestamp ? { timestamp } : {}) },
  };
}

const plain = { details: false, timestamps: false };
const DETAILS =
  'com.docker.swarm.node.id=12D3KooWnode1,com.docker.swarm.service.id=svc9xyz,com.docker.swarm.task.id=task1abc';
const STAMP = '2024-05-01T12:00:00.123456789Z';

describe('dockerLogFrame', () => {
  it('frames a stdout line on stream 1 and a stderr line on stream 2', () => {
    const out = dockerLogFrame(line('hello'), plain);
    expect([...out.subarray(0, 8)]).toEqual([1, 0, 0, 0, 0, 0, 0, 6]);
    expect(demux(out)).toEqual([{ stream: 'stdout', text: 'hello\n' }]);
    expect(demux(dockerLogFrame(line('oops', 'stderr'), plain))).toEqual([
      { stream: 'stderr', text: 'oops\n' },
    ]);
  });

  it('writes the length big-endian, in bytes', () => {
    const long = 'x'.repeat(70_000);
    const frame = dockerLogFrame(line(long), plain);
    expect([...frame.subarray(4, 8)]).toEqual([0, 1, 0x11, 0x71]); // 70,001 = 0x00011171
    expect(demux(frame)).toEqual([{ stream: 'stdout', text: `${long}\n` }]);
    const accents = dockerLogFrame(line('café ☕'), plain);
    expect(Buffer.from(accents).readUInt32BE(4)).toBe(Buffer.byteLength('café ☕\n'));
    expect(demux(accents)[0]?.text).toBe('café ☕\n');
  });

  it('decodes as one stream when frames follow each other', () => {
    const stream = Buffer.concat([
      dockerLogFrame(line('one'), plain),
      dockerLogFrame(line('two', 'stderr'), plain),
      dockerLogFrame(line(''), plain),
    ]);
    expect(demux(stream)).toEqual([
      { stream: 'stdout', text: 'one\n' },
      { stream: 'stderr', text: 'two\n' },
      { stream: 'stdout', text: '\n' },
    ]);
  });

  it('puts the details the docker CLI reads its prefix from before the line', () => {
    const frame = dockerLogFrame(line('hello', 'stdout', STAMP), {
      details: true,
      timestamps: false,
    });
    expect(demux(frame)).toEqual([{ stream: 'stdout', text: `${DETAILS} hello\n` }]);
  });

  it('puts the timestamp first when asked, before the details', () => {
    expect(
      demux(dockerLogFrame(line('hello', 'stdout', STAMP), { details: true, timestamps: true })),
    ).toEqual([{ stream: 'stdout', text: `${STAMP} ${DETAILS} hello\n` }]);
    expect(
      demux(dockerLogFrame(line('hello', 'stdout', STAMP), { details: false, timestamps: true })),
    ).toEqual([{ stream: 'stdout', text: `${STAMP} hello\n` }]);
    expect(
      demux(dockerLogFrame(line('hello', 'stdout', STAMP), { details: false, timestamps: false })),
    ).toEqual([{ stream: 'stdout', text: 'hello\n' }]);
  });

  it('sends a node that could not be asked on stderr', () => {
    const entry: ServiceLogEntry = {
      kind: 'error',
      hostname: 'node2',
      message: 'connection refused',
    };
    expect(demux(dockerLogFrame(entry, { details: true, timestamps: true }))).toEqual([
      { stream: 'stderr', text: 'error from node2: connection refused\n' },
    ]);
  });
});
