import { describe, expect, it } from 'vitest';
import { SwarmtsError } from '../../../src/errors.js';
import { AmbiguousNodeRefError, NodeNotFoundError } from '../../../src/state/index.js';
import { newNode, ok, setup, T1 } from './fixtures.js';

function cluster() {
  const s = setup();
  const nodes = [
    newNode('abc111', 'alpha'),
    newNode('abc222', 'beta'),
    newNode('def333', 'gamma'),
    newNode('alpha', 'delta'), // an ID that is another node's hostname
    newNode('xyz444', 'twin'),
    newNode('xyz555', 'twin'),
  ];
  for (const node of nodes) ok(s.apply({ type: 'node.create', node }));
  const spec = { Name: 'edge-1', Labels: {}, Role: 'worker', Availability: 'active' } as const;
  ok(s.apply({ type: 'node.updateSpec', id: 'def333', version: 3, spec, at: T1 }));
  return s.store;
}

function failure(run: () => unknown): SwarmtsError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SwarmtsError);
    return error as SwarmtsError;
  }
  throw new Error('expected an error');
}

describe('findNode', () => {
  const store = cluster();

  it('prefers an exact ID over a hostname', () => {
    expect(store.findNode('alpha').ID).toBe('alpha');
  });

  it('finds by exact hostname or Spec.Name', () => {
    expect(store.findNode('beta').ID).toBe('abc222');
    expect(store.findNode('gamma').ID).toBe('def333');
    expect(store.findNode('edge-1').ID).toBe('def333');
  });

  it('finds by a unique ID prefix', () => {
    expect(store.findNode('abc1').ID).toBe('abc111');
    expect(store.findNode('d').ID).toBe('def333');
  });

  it('refuses an ambiguous prefix or name', () => {
    const prefix = failure(() => store.findNode('abc'));
    expect(prefix).toBeInstanceOf(AmbiguousNodeRefError);
    expect(prefix.code).toBe('invalid_argument');
    expect(prefix.message).toBe('node ref abc is ambiguous (2 matches found)');
    expect(failure(() => store.findNode('twin'))).toBeInstanceOf(AmbiguousNodeRefError);
  });

  it('says not found otherwise', () => {
    const error = failure(() => store.findNode('zzz'));
    expect(error).toBeInstanceOf(NodeNotFoundError);
    expect(error.code).toBe('not_found');
    expect(error.message).toBe('node zzz not found');
    expect(failure(() => store.findNode('')).code).toBe('invalid_argument');
  });

  it('lists nodes sorted by ID', () => {
    expect(store.listNodes().map((n) => n.ID)).toEqual([
      'abc111',
      'abc222',
      'alpha',
      'def333',
      'xyz444',
      'xyz555',
    ]);
  });
});
