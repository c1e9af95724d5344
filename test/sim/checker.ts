/**
 * Safety properties of Raft (paper, figure 3), checked against everything the simulated
 * nodes persist and apply over a whole run:
 *   election safety       at most one leader per term;
 *   log matching          two logs with an entry of the same index and term hold the same
 *                         prefix up to it (compared through a hash chain over the prefix);
 *   leader completeness   an entry committed in term T is in the log of every leader of a
 *                         term after T (not necessarily of terms after the entry's own term);
 *   state machine safety  no two nodes apply different entries at the same index;
 *   read linearizability  a ReadIndex answer is at least the highest commit index anyone
 *                         knew when the read was issued.
 */
import type { Entry, NodeId, Ready } from '../../src/raft/index.js';
import { chainHash, decodeApp, type Peer } from '../unit/raft/harness.js';

export class SafetyViolation extends Error {
  static override name = 'SafetyViolation';
  constructor(message: string) {
    super(message);
    this.name = 'SafetyViolation';
  }
}

/** Hash chain over one node's persisted log: hashes[i] covers the prefix up to base.index + 1 + i. */
interface LogChain {
  baseIndex: number;
  baseHash: number;
  hashes: number[];
}

export class Checker {
  private readonly leaderOfTerm = new Map<number, NodeId>();
  /** `${index}:${term}` → prefix hash, from every log that ever held such an entry. */
  private readonly prefixHash = new Map<string, number>();
  /**
   * index → the committed entry's term and prefix hash, and the term in which it was
   * committed — over-estimated as the current term of the first node seen committing it,
   * which can only spare leaders from a check, never fail one wrongly.
   */
  private readonly committed = new Map<number, { term: number; hash: number; inTerm: number }>();
  /** The term each node was elected in, while it leads. */
  private readonly ledTerm = new Map<NodeId, number>();
  /** index → state machine hash after applying it. */
  private readonly appliedHash = new Map<number, number>();
  private readonly chains = new Map<NodeId, LogChain>();
  private readonly commitChecked = new Map<NodeId, number>();
  private readonly readFloor = new Map<string, number>();
  /** The highest commit index any node has persisted. */
  maxKnownCommit = 0;

  /** Starts following a node; its chain starts at its storage's snapshot. */
  watch(peer: Peer): void {
    const snapshot = peer.storage.snapshot();
    this.chains.set(peer.id, {
      baseIndex: snapshot.metadata.index,
      baseHash: decodeApp(snapshot).hash,
      hashes: [],
    });
    this.commitChecked.set(peer.id, snapshot.metadata.index);
    peer.onPersisted = (p, rd) => this.persisted(p, rd);
    peer.onApply = (p, entry) => this.applied(p, entry);
  }

  /** A read is issued: its answer must not be older than what is known committed now. */
  readIssued(context: string): void {
    this.readFloor.set(context, this.maxKnownCommit);
  }

  readAnswered(peer: Peer, context: string, index: number): void {
    const floor = this.readFloor.get(context);
    if (floor !== undefined && index < floor) {
      this.fail(
        `read ${context} on ${peer.id} answered index ${index} < ${floor} known committed when issued`,
      );
    }
  }

  private persisted(peer: Peer, rd: Ready): void {
    const chain = this.chains.get(peer.id)!;
    if (rd.snapshot !== undefined) {
      const { index } = rd.snapshot.metadata;
      chain.baseIndex = index;
      chain.baseHash = decodeApp(rd.snapshot).hash;
      chain.hashes = [];
      const known = this.committed.get(index);
      if (known !== undefined && known.hash !== chain.baseHash) {
        this.fail(
          `${peer.id} installed a snapshot at ${index} that differs from the committed log`,
        );
      }
      this.commitChecked.set(peer.id, Math.max(this.commitChecked.get(peer.id)!, index));
    }
    for (const entry of rd.entries) this.logEntry(peer, chain, entry);
    if (rd.softState?.role === 'leader') this.leaderElected(peer);
    else if (rd.softState !== undefined) this.ledTerm.delete(peer.id);
    const commit = rd.hardState?.commit;
    if (commit !== undefined) this.commitAdvanced(peer, chain, commit);
  }

  private logEntry(peer: Peer, chain: LogChain, entry: Entry): void {
    const offset = entry.index - chain.baseIndex - 1;
    if (offset < 0) return; // covered by the snapshot
    if (offset > chain.hashes.length) {
      this.fail(`${peer.id} persisted entry ${entry.index} after a gap`);
    }
    const prev = offset === 0 ? chain.baseHash : chain.hashes[offset - 1]!;
    chain.hashes.length = offset; // a conflicting suffix is replaced
    const hash = chainHash(prev, entry);
    chain.hashes.push(hash);
    const key = `${entry.index}:${entry.term}`;
    const seen = this.prefixHash.get(key);
    if (seen === undefined) this.prefixHash.set(key, hash);
    else if (seen !== hash) {
      this.fail(
        `log matching: ${peer.id} holds a different log up to ${entry.index} (term ${entry.term})`,
      );
    }
  }

  private leaderElected(peer: Peer): void {
    const term = peer.node.status().term;
    const other = this.leaderOfTerm.get(term);
    if (other !== undefined && other !== peer.id) {
      this.fail(`election safety: ${other} and ${peer.id} both lead term ${term}`);
    }
    this.leaderOfTerm.set(term, peer.id);
    this.ledTerm.set(peer.id, term);
    for (const [index, entry] of this.committed) {
      if (entry.inTerm < term) this.leaderHolds(peer, term, index, entry.term);
    }
  }

  /** Leader completeness: a leader of a later term than an entry's commit must hold it. */
  private leaderHolds(peer: Peer, leaderTerm: number, index: number, term: number): void {
    const storage = peer.storage;
    if (index < storage.firstIndex() - 1) return; // compacted, hence committed locally
    if (index > storage.lastIndex() || storage.term(index) !== term) {
      this.fail(
        `leader completeness: ${peer.id} leads term ${leaderTerm} without committed entry ${index} (term ${term})`,
      );
    }
  }

  private commitAdvanced(peer: Peer, chain: LogChain, commit: number): void {
    const from = this.commitChecked.get(peer.id)! + 1;
    for (let index = from; index <= commit; index++) {
      const offset = index - chain.baseIndex - 1;
      if (offset < 0) continue;
      const hash = chain.hashes[offset];
      if (hash === undefined) this.fail(`${peer.id} commits ${index} beyond its log`);
      const term = peer.storage.term(index);
      const known = this.committed.get(index);
      if (known === undefined) {
        const inTerm = peer.node.status().term;
        this.committed.set(index, { term, hash: hash!, inTerm });
        for (const [id, ledTerm] of this.ledTerm) {
          const leader = this.peers.find((p) => p.id === id);
          if (leader?.alive && ledTerm > inTerm) this.leaderHolds(leader, ledTerm, index, term);
        }
      } else if (known.term !== term || known.hash !== hash) {
        this.fail(`state machine safety: ${peer.id} committed a different entry at ${index}`);
      }
    }
    this.commitChecked.set(peer.id, Math.max(commit, from - 1));
    this.maxKnownCommit = Math.max(this.maxKnownCommit, commit);
  }

  private applied(peer: Peer, entry: Entry | undefined): void {
    const { index, hash } = peer.app;
    const seen = this.appliedHash.get(index);
    if (seen === undefined) this.appliedHash.set(index, hash);
    else if (seen !== hash) {
      this.fail(
        entry === undefined
          ? `state machine safety: ${peer.id} restored a snapshot at ${index} unlike what others applied`
          : `state machine safety: ${peer.id} applied a different entry at ${index}`,
      );
    }
    const committed = this.committed.get(index);
    if (committed !== undefined && committed.hash !== hash) {
      this.fail(`state machine safety: ${peer.id} applied ${index} unlike the committed log`);
    }
  }

  private peers: Peer[] = [];

  /** Peers to check for leader completeness; set by the simulation. */
  setPeers(peers: Iterable<Peer>): void {
    this.peers = [...peers];
  }

  /** A crashed node leads nothing when it comes back. */
  crashed(peer: Peer): void {
    this.ledTerm.delete(peer.id);
  }

  private fail(message: string): never {
    throw new SafetyViolation(message);
  }
}
