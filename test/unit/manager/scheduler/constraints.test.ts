import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../../src/errors.js';
import {
  matchesConstraint,
  parseConstraint,
  parseSpreadDescriptor,
} from '../../../../src/manager/scheduler/index.js';
import { node } from './fixtures.js';

const matches = (text: string, n = node('n1')) => matchesConstraint(parseConstraint(text), n);

describe('parseConstraint', () => {
  it('reads every key Docker supports', () => {
    expect(parseConstraint('node.id==abc')).toMatchObject({ field: 'node.id', value: 'abc' });
    expect(parseConstraint('node.hostname!=web1')).toMatchObject({
      field: 'node.hostname',
      operator: '!=',
      value: 'web1',
    });
    expect(parseConstraint('node.role==manager').field).toBe('node.role');
    expect(parseConstraint('node.platform.os==linux').field).toBe('node.platform.os');
    expect(parseConstraint('node.platform.arch==x86_64').field).toBe('node.platform.arch');
    expect(parseConstraint('node.labels.zone==east')).toMatchObject({
      field: 'node.labels',
      label: 'zone',
      value: 'east',
    });
    expect(parseConstraint('engine.labels.storage==ssd')).toMatchObject({
      field: 'engine.labels',
      label: 'storage',
    });
  });

  it('trims spaces, folds the key prefix, and keeps the label key and value as written', () => {
    const c = parseConstraint('  Node.Labels.Zone  ==  East  ');
    expect(c).toMatchObject({ field: 'node.labels', label: 'Zone', operator: '==', value: 'East' });
    expect(c.text).toBe('Node.Labels.Zone==East');
    expect(parseConstraint('NODE.ROLE == worker').field).toBe('node.role');
    expect(parseConstraint('node.labels.com.example/tier==db').label).toBe('com.example/tier');
  });

  it.each([
    ['', /empty/],
    ['   ', /empty/],
    ['node.role', /no operator/],
    ['node.role=manager', /single = is not an operator/],
    ['==manager', /key before the operator is missing/],
    ['node.role==', /value after the operator is missing/],
    ['node.role!=  ', /value after the operator is missing/],
    ['node.role===manager', /more than one operator/],
    ['node.labels.a==b!=c', /more than one operator/],
    ['node.name==web', /unknown key "node.name"; use one of node.id, node.hostname/],
    ['labels.zone==east', /unknown key/],
    ['node.labels==east', /node.labels needs a label key/],
    ['node.labels.==east', /node.labels needs a label key/],
    ['engine.labels==x', /engine.labels needs a label key/],
    ['node.labels.my zone==east', /"my zone" is not a valid label key/],
  ])('rejects %j with a message saying why', (text, why) => {
    let thrown: unknown;
    try {
      parseConstraint(text);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidArgumentError);
    const error = thrown as InvalidArgumentError;
    expect(error.code).toBe('invalid_argument');
    expect(error.message).toContain(`invalid constraint "${text}"`);
    expect(error.message).toMatch(why);
  });
});

describe('matching a constraint against a node', () => {
  it('node.id compares exactly', () => {
    expect(matches('node.id==n1')).toBe(true);
    expect(matches('node.id==N1')).toBe(false);
    expect(matches('node.id!=n2')).toBe(true);
    expect(matches('node.id!=n1')).toBe(false);
  });

  it('node.hostname compares case-insensitively', () => {
    const n = node('n1', { hostname: 'Web-1' });
    expect(matches('node.hostname==web-1', n)).toBe(true);
    expect(matches('node.hostname==WEB-1', n)).toBe(true);
    expect(matches('node.hostname!=web-1', n)).toBe(false);
    expect(matches('node.hostname==web-2', n)).toBe(false);
  });

  it('node.role uses the role the node holds, not the one asked for', () => {
    const promoting = { ...node('n1', { role: 'worker' }) };
    promoting.Spec = { ...promoting.Spec, Role: 'manager' };
    expect(matches('node.role==manager', promoting)).toBe(false);
    expect(matches('node.role==worker', promoting)).toBe(true);
    expect(matches('node.role==Manager', node('m1', { role: 'manager' }))).toBe(true);
    expect(matches('node.role!=manager', node('m1', { role: 'manager' }))).toBe(false);
  });

  it('node.platform.os and node.platform.arch compare case-insensitively', () => {
    const n = node('n1', { os: 'linux', arch: 'aarch64' });
    expect(matches('node.platform.os==Linux', n)).toBe(true);
    expect(matches('node.platform.os!=windows', n)).toBe(true);
    expect(matches('node.platform.arch==AARCH64', n)).toBe(true);
    expect(matches('node.platform.arch==x86_64', n)).toBe(false);
    expect(matches('node.platform.arch!=x86_64', n)).toBe(true);
  });

  it('node.labels compare the value exactly; a missing label fails == and passes !=', () => {
    const n = node('n1', { labels: { zone: 'east' } });
    expect(matches('node.labels.zone==east', n)).toBe(true);
    expect(matches('node.labels.zone==East', n)).toBe(false);
    expect(matches('node.labels.zone!=west', n)).toBe(true);
    expect(matches('node.labels.zone!=east', n)).toBe(false);
    expect(matches('node.labels.gpu==true', n)).toBe(false);
    expect(matches('node.labels.gpu!=true', n)).toBe(true);
    expect(matches('node.labels.Zone==east', n)).toBe(false);
  });

  it('engine.labels read the engine labels, which may be absent altogether', () => {
    const n = node('n1', { engineLabels: { storage: 'ssd' } });
    expect(matches('engine.labels.storage==ssd', n)).toBe(true);
    expect(matches('engine.labels.storage!=ssd', n)).toBe(false);
    expect(matches('engine.labels.storage==ssd', node('n2'))).toBe(false);
    expect(matches('engine.labels.storage!=ssd', node('n2'))).toBe(true);
  });

  it('never reads inherited properties as labels', () => {
    expect(matches('node.labels.constructor==x')).toBe(false);
    expect(matches('node.labels.toString!=x')).toBe(true);
  });
});

describe('parseSpreadDescriptor', () => {
  it('accepts node and engine labels', () => {
    expect(parseSpreadDescriptor('node.labels.zone')).toEqual({
      source: 'node.labels',
      label: 'zone',
    });
    expect(parseSpreadDescriptor('engine.labels.rack')).toEqual({
      source: 'engine.labels',
      label: 'rack',
    });
  });

  it.each(['node.hostname', 'node.labels', 'node.labels.', 'zone', ''])('rejects %j', (text) => {
    expect(() => parseSpreadDescriptor(text)).toThrow(InvalidArgumentError);
    expect(() => parseSpreadDescriptor(text)).toThrow(/spread over node.labels.<key>/);
  });
});
