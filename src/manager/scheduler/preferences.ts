/**
 * Placement preferences (`--placement-pref spread=node.labels.zone`): which label a service's
 * tasks spread over. Only node and engine labels can be spread over, as in Docker.
 */
import { InvalidArgumentError } from '../../errors.js';
import type { Node } from '../../state/types.js';
import { LABEL_KEY, labelValue } from './constraints.js';

export interface SpreadKey {
  readonly source: 'node.labels' | 'engine.labels';
  readonly label: string;
}

/** Parses a SpreadDescriptor; throws InvalidArgumentError for anything but a label key. */
export function parseSpreadDescriptor(text: string): SpreadKey {
  const trimmed = text.trim();
  const lower = trimmed.toLowerCase();
  for (const source of ['node.labels', 'engine.labels'] as const) {
    if (lower.startsWith(`${source}.`)) {
      const label = trimmed.slice(source.length + 1);
      if (LABEL_KEY.test(label)) return { source, label };
      break;
    }
  }
  throw new InvalidArgumentError(
    `invalid placement preference "spread=${text}": spread over node.labels.<key> or engine.labels.<key>`,
  );
}

/** The node's value for the spread key; undefined groups the nodes that lack the label. */
export function spreadValue(key: SpreadKey, node: Node): string | undefined {
  const labels = key.source === 'node.labels' ? node.Spec.Labels : node.Description.Engine.Labels;
  return labelValue(labels, key.label);
}
