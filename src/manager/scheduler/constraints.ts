/**
 * Placement constraints (`--constraint node.labels.zone==east`): parsing, so the API can refuse
 * a bad expression when a service is created, and matching against a node.
 *
 * Keys are Docker's: node.id, node.hostname, node.role, node.platform.os, node.platform.arch,
 * node.labels.KEY and engine.labels.KEY, with the operators == and !=. The key's prefix is
 * case-insensitive (as in swarmkit); a label key is kept as written because labels are.
 * Hostname, role, OS and architecture compare case-insensitively, as Docker does, since users
 * type them by hand; node IDs and label values compare exactly. A node without the label fails
 * `==` and passes `!=`, so `node.labels.gpu!=true` also selects nodes that never set it.
 */
import { InvalidArgumentError } from '../../errors.js';
import type { Node } from '../../state/types.js';

export type ConstraintField =
  | 'node.id'
  | 'node.hostname'
  | 'node.role'
  | 'node.platform.os'
  | 'node.platform.arch'
  | 'node.labels'
  | 'engine.labels';

export type ConstraintOperator = '==' | '!=';

export interface Constraint {
  readonly field: ConstraintField;
  /** The label key for node.labels and engine.labels; '' for the other fields. */
  readonly label: string;
  readonly operator: ConstraintOperator;
  readonly value: string;
  /** The expression without surrounding spaces (`node.labels.zone==east`), quoted in reasons. */
  readonly text: string;
}

const FIXED_FIELDS: ReadonlySet<string> = new Set<ConstraintField>([
  'node.id',
  'node.hostname',
  'node.role',
  'node.platform.os',
  'node.platform.arch',
]);
const LABEL_FIELDS = ['node.labels', 'engine.labels'] as const;
const SUPPORTED_KEYS =
  'node.id, node.hostname, node.role, node.platform.os, node.platform.arch, node.labels.<key>, engine.labels.<key>';

/** Label keys as Docker users write them: letters, digits and `_ . - /`, no spaces or `=`. */
export const LABEL_KEY = /^[A-Za-z0-9_][A-Za-z0-9_.\-/]*$/;

/** Parses one `KEY==VALUE` or `KEY!=VALUE`; throws InvalidArgumentError saying what is wrong. */
export function parseConstraint(text: string): Constraint {
  const trimmed = text.trim();
  if (trimmed === '') throw invalid(text, 'it is empty; write KEY==VALUE or KEY!=VALUE');
  const equal = trimmed.indexOf('==');
  const notEqual = trimmed.indexOf('!=');
  const at = equal === -1 ? notEqual : notEqual === -1 ? equal : Math.min(equal, notEqual);
  if (at === -1) {
    const why = trimmed.includes('=')
      ? 'use == or != (a single = is not an operator)'
      : 'it has no operator; write KEY==VALUE or KEY!=VALUE';
    throw invalid(text, why);
  }
  const operator: ConstraintOperator = trimmed[at] === '!' ? '!=' : '==';
  const key = trimmed.slice(0, at).trim();
  const value = trimmed.slice(at + 2).trim();
  if (key === '') throw invalid(text, 'the key before the operator is missing');
  if (value === '') throw invalid(text, 'the value after the operator is missing');
  // "a===b" or "a==b!=c": more than one operator reads as a typo, not as a value.
  if (value.startsWith('=') || value.includes('==') || value.includes('!=')) {
    throw invalid(text, 'it has more than one operator');
  }
  const { field, label } = parseKey(key, text);
  return { field, label, operator, value, text: `${key}${operator}${value}` };
}

function parseKey(key: string, text: string): { field: ConstraintField; label: string } {
  const lower = key.toLowerCase();
  if (FIXED_FIELDS.has(lower)) return { field: lower as ConstraintField, label: '' };
  for (const field of LABEL_FIELDS) {
    if (lower === field || lower === `${field}.`) {
      throw invalid(text, `${field} needs a label key, e.g. ${field}.zone`);
    }
    if (lower.startsWith(`${field}.`)) {
      const label = key.slice(field.length + 1);
      if (!LABEL_KEY.test(label)) {
        throw invalid(text, `"${label}" is not a valid label key`);
      }
      return { field, label };
    }
  }
  throw invalid(text, `unknown key "${key}"; use one of ${SUPPORTED_KEYS}`);
}

function invalid(text: string, why: string): InvalidArgumentError {
  return new InvalidArgumentError(`invalid constraint "${text}": ${why}`);
}

/** A label's value, or undefined when the node does not set it (never an inherited property). */
export function labelValue(
  labels: Readonly<Record<string, string>> | undefined,
  key: string,
): string | undefined {
  return labels !== undefined && Object.hasOwn(labels, key) ? labels[key] : undefined;
}

/** The node's value for the constraint's key; undefined when it has none (a missing label). */
function nodeValue(constraint: Constraint, node: Node): string | undefined {
  switch (constraint.field) {
    case 'node.id':
      return node.ID;
    case 'node.hostname':
      return node.Description.Hostname;
    case 'node.role':
      // The role the node holds now, not the one asked for: a manager being promoted
      // cannot run manager-only tasks until it is one.
      return node.Role;
    case 'node.platform.os':
      return node.Description.Platform.OS;
    case 'node.platform.arch':
      return node.Description.Platform.Architecture;
    case 'node.labels':
      return labelValue(node.Spec.Labels, constraint.label);
    case 'engine.labels':
      return labelValue(node.Description.Engine.Labels, constraint.label);
  }
}

const FOLDED: ReadonlySet<ConstraintField> = new Set<ConstraintField>([
  'node.hostname',
  'node.role',
  'node.platform.os',
  'node.platform.arch',
]);

/** A predicate for the constraint, with the case folding of its value done once. */
export function compileConstraint(constraint: Constraint): (node: Node) => boolean {
  const wantEqual = constraint.operator === '==';
  const folded = FOLDED.has(constraint.field);
  const expected = folded ? constraint.value.toLowerCase() : constraint.value;
  return (node) => {
    const actual = nodeValue(constraint, node);
    if (actual === undefined) return !wantEqual;
    const equal = (folded ? actual.toLowerCase() : actual) === expected;
    return equal === wantEqual;
  };
}

/** True when the node satisfies the constraint. */
export function matchesConstraint(constraint: Constraint, node: Node): boolean {
  return compileConstraint(constraint)(node);
}
