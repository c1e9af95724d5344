import { describe, expect, it } from 'vitest';
import { parseFormat, renderTable, renderTemplate } from '../../../src/cli/format.js';
import { InvalidArgumentError } from '../../../src/errors.js';

describe('renderTable', () => {
  it('aligns columns with three spaces and no trailing blanks', () => {
    const table = renderTable(
      ['ID', 'NAME', 'REPLICAS'],
      [
        ['a1', 'web', '3/3'],
        ['b22222', 'db', ''],
      ],
    );
    expect(table).toBe(
      ['ID       NAME   REPLICAS', 'a1       web    3/3', 'b22222   db'].join('\n'),
    );
  });
});

describe('renderTemplate', () => {
  const value = { Client: { Version: '1.2.3', Tags: ['a'] }, Count: 2 };

  it('fills field paths and json actions', () => {
    expect(renderTemplate('{{.Client.Version}} ({{ .Count }})', value)).toBe('1.2.3 (2)');
    expect(renderTemplate('{{json .Client}}', value)).toBe('{"Version":"1.2.3","Tags":["a"]}');
    expect(renderTemplate('{{.Client.Version}}\\t{{.Count}}', value)).toBe('1.2.3\t2');
  });

  it('names a field that does not exist', () => {
    expect(() => renderTemplate('{{.Client.Nope}}', value)).toThrow(InvalidArgumentError);
    expect(() => renderTemplate('{{.Client.Nope}}', value)).toThrow('no field "Client.Nope"');
  });

  it('refuses template actions it does not support instead of printing them', () => {
    expect(() => renderTemplate('{{range .Client.Tags}}x{{end}}', value)).toThrow(
      /unsupported action/,
    );
  });
});

describe('parseFormat', () => {
  it('tells json, templates and the default apart', () => {
    expect(parseFormat(undefined)).toEqual({ kind: 'default' });
    expect(parseFormat('table')).toEqual({ kind: 'default' });
    expect(parseFormat('json')).toEqual({ kind: 'json' });
    expect(parseFormat('{{.ID}}')).toEqual({ kind: 'template', template: '{{.ID}}' });
    expect(() => parseFormat('yaml')).toThrow(InvalidArgumentError);
  });
});
