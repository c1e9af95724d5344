/**
 * Merges the messages of one Ready that say the same thing twice to the same peer, so a busy
 * leader sends one append per follower per round instead of one per proposal and per
 * acknowledgement. Pure; the result is what the receiver would have reached by handling the
 * originals in order:
 *
 * - consecutive appends of one term where the second continues the first (its prevIndex is
 *   the first's last index) become one append with both entry lists and the later commit;
 * - an empty append that only carries a commit index folds into the previous append to the
 *   same peer when it starts at or before that append's end;
 * - successful append responses to the same leader in the same term keep only the highest
 *   index (success is cumulative); rejections are kept as they are.
 *
 * Messages to different peers keep their relative order; other types are untouched.
 */
import type { AppendMessage, AppendResponseMessage, Message } from './types.js';

export function coalesceMessages(messages: readonly Message[]): Message[] {
  if (messages.length < 2) return [...messages];
  const out: Message[] = [];
  const lastAppendTo = new Map<string, number>();
  const lastAckTo = new Map<string, number>();
  for (const message of messages) {
    if (message.type === 'append') {
      const at = lastAppendTo.get(message.to);
      const merged = at === undefined ? undefined : mergeAppends(out[at] as AppendMessage, message);
      if (merged && at !== undefined) {
        out[at] = merged;
        continue;
      }
      lastAppendTo.set(message.to, out.length);
    } else if (message.type === 'appendResponse' && !message.reject) {
      const at = lastAckTo.get(message.to);
      const previous = at === undefined ? undefined : (out[at] as AppendResponseMessage);
      if (at !== undefined && previous && previous.term === message.term) {
        if (message.index > previous.index) out[at] = message;
        continue;
      }
      lastAckTo.set(message.to, out.length);
    } else if (message.type !== 'heartbeat') {
      // Anything else between two appends (a snapshot, a vote) breaks the chain.
      lastAppendTo.delete(message.to);
      lastAckTo.delete(message.to);
    }
    out.push(message);
  }
  return out;
}

function lastIndexOf(m: AppendMessage): number {
  return m.prevIndex + m.entries.length;
}

function mergeAppends(first: AppendMessage, next: AppendMessage): AppendMessage | undefined {
  if (first.term !== next.term) return undefined;
  const end = lastIndexOf(first);
  if (next.entries.length === 0 && next.prevIndex <= end) {
    // The receiver would take min(commit, prevIndex) from the empty append.
    return { ...first, commit: Math.max(first.commit, Math.min(next.commit, next.prevIndex)) };
  }
  const lastTerm = first.entries.length
    ? first.entries[first.entries.length - 1]!.term
    : first.prevTerm;
  if (next.prevIndex === end && next.prevTerm === lastTerm) {
    return {
      ...first,
      entries: [...first.entries, ...next.entries],
      commit: Math.max(first.commit, next.commit),
    };
  }
  return undefined;
}
