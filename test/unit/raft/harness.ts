/**
 * Test harness for the Raft core: a Peer drives one RaftNode the way a real agent would
 * (persist to MemoryStorage, apply to a tiny state machine, hand messages to a network), and
 * a Cluster connects peers through a synchronous in-memory network with cut/isolate helpers.
 * The simulation (test/sim) reuses Peer with its own faulty network.
 */
import {
  type ConfState,
  decodeConfChange,
  type Entry,
  MemoryStorage,
  type Message,
  type NodeId,
  RaftNode,
  type RaftOptions,
  type ReadState,
  type Ready,
  type Snapshot,
  type SoftState,
} from '../../../src/raft/index.js';
import { Rng } from '../../sim/rng.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const bytes = (s: string): Uint8Array => encoder.encode(s);
export const text = (b: Uint8Array): string => decoder.decode(b);

/** Options of the core a test may set; id, storage and random come from the harness. */
export type PeerOptions = Partial<Omit<RaftOptions, 'id' | 'storage' | 'random'>>;

/** The replicated state machine: the applied values and a hash chain over every applied entry. */
export interface AppState {
  index: number;
  hash: number;
  values: string[];
}

export const INITIAL_HASH = 0x1b873593;

/** Folds an entry into a 52-bit hash chain (two 32-bit FNV-1a style lanes, 26 bits kept of each). */
export function chainHash(prev: number, entry: Entry): number {
  let a = ((prev % 0x4000000) ^ 0x811c9dc5) >>> 0;
  let b = (Math.floor(prev / 0x4000000) ^ 0x2545f491) >>> 0;
  const mix = (byte: number): void => {
    a = Math.imul(a ^ byte, 0x01000193) >>> 0;
    b = Math.imul(b ^ byte, 0x5bd1e995) >>> 0;
  };
  for (const n of [entry.index, entry.term, entry.type === 'normal' ? 1 : 2]) {
    for (let k = 0; k < 7; k++) mix(Math.floor(n / 256 ** k) & 0xff);
  }
  for (const byte of entry.data) mix(byte);
  return (a >>> 6) * 0x4000000 + (b >>> 6);
}

export function encodeApp(app: AppState): Uint8Array {
  return bytes(JSON.stringify(app));
}

/** The bootstrap snapshot carries no data: the initial, empty state at its index. */
export function decodeApp(snapshot: Snapshot): AppState {
  if (snapshot.data.length === 0) {
    return { index: snapshot.metadata.index, hash: INITIAL_HASH, values: [] };
  }
  return JSON.parse(text(snapshot.data)) as AppState;
}

export class Peer {
  node!: RaftNode;
  app!: AppState;
  /** Membership as of the applied entries (what goes into our snapshots). */
  conf!: ConfState;
  softState: SoftState = { leader: null, role: 'follower' };
  alive = true;
  readonly readStates: ReadState[] = [];
  /** Every entry applied since the peer was created, across restarts. */
  readonly appliedEntries: Entry[] = [];
  /** Called after each applied entry and each applied snapshot (the simulation checks them). */
  onApply: ((peer: Peer, entry: Entry | undefined) => void) | undefined;
  /** Called with every Ready once it is persisted, before it is applied (the simulation checks). */
  onPersisted: ((peer: Peer, ready: Ready) => void) | undefined;

  constructor(
    readonly id: NodeId,
    readonly storage: MemoryStorage,
    private readonly options: PeerOptions,
    private readonly random: () => number,
  ) {
    this.start();
  }

  /** Builds the core from what is on "disk" only, as after a process restart. */
  private start(): void {
    const snapshot = this.storage.snapshot();
    this.app = decodeApp(snapshot);
    this.conf = snapshot.metadata.confState;
    this.softState = { leader: null, role: 'follower' };
    this.node = new RaftNode({
      ...this.options,
      id: this.id,
      storage: this.storage,
      random: this.random,
      applied: snapshot.metadata.index,
    });
  }

  crash(): void {
    this.alive = false;
  }

  restart(): void {
    this.alive = true;
    this.start();
  }

  hasReady(): boolean {
    return this.alive && this.node.hasReady();
  }

  /**
   * One turn of the driving loop: persist, (return messages to) send, apply, advance. A leader
   * may send before persisting, as the real driver does; `crashBeforePersist` kills a leader
   * after its messages left and before its write reached the disk. With `applyBeforePersist`,
   * the committed entries are applied first, as the driver does while its write is under way
   * (unless a snapshot comes with them); `crashAfterApply` then kills the node before the write.
   */
  handleReady(
    options: {
      crashBeforePersist?: boolean;
      applyBeforePersist?: boolean;
      crashAfterApply?: boolean;
    } = {},
  ): Message[] {
    const rd = this.node.ready();
    const leading = (rd.softState ?? this.softState).role === 'leader';
    if (leading && options.crashBeforePersist) {
      this.crash();
      return [...rd.messages];
    }
    const applyingEarly = options.applyBeforePersist === true && rd.snapshot === undefined;
    if (applyingEarly) {
      for (const entry of rd.committedEntries) this.apply(entry);
      if (options.crashAfterApply) {
        this.crash();
        // Only a leader's messages may have left before its write.
        return leading ? [...rd.messages] : [];
      }
    }
    if (rd.softState !== undefined) this.softState = rd.softState;
    if (rd.snapshot !== undefined) this.storage.applySnapshot(rd.snapshot);
    this.storage.append(rd.entries);
    if (rd.hardState !== undefined) this.storage.setHardState(rd.hardState);
    this.onPersisted?.(this, rd);
    if (rd.snapshot !== undefined) {
      this.app = decodeApp(rd.snapshot);
      this.conf = rd.snapshot.metadata.confState;
      this.onApply?.(this, undefined);
    }
    if (!applyingEarly) for (const entry of rd.committedEntries) this.apply(entry);
    this.readStates.push(...rd.readStates);
    this.node.advance();
    return [...rd.messages];
  }

  private apply(entry: Entry): void {
    if (entry.index !== this.app.index + 1) {
      throw new Error(`${this.id}: applying ${entry.index} after ${this.app.index}`);
    }
    if (entry.type === 'confChange') {
      this.conf = this.node.applyConfChange(decodeConfChange(entry.data));
    } else if (entry.data.length > 0) {
      this.app.values.push(text(entry.data));
    }
    this.app.hash = chainHash(this.app.hash, entry);
    this.app.index = entry.index;
    this.appliedEntries.push(entry);
    this.onApply?.(this, entry);
  }

  /** Snapshots the state machine at its applied index and compacts the log, keeping `keep` entries. */
  compact(keep = 0): boolean {
    const index = this.app.index;
    if (index <= this.storage.snapshot().metadata.index) return false;
    this.storage.createSnapshot(index, this.conf, encodeApp(this.app));
    const to = index - keep;
    if (to >= this.storage.firstIndex()) this.storage.compact(to);
    return true;
  }

  /** Applied non-empty normal entries, in order. */
  values(): string[] {
    return this.app.values;
  }

  /**
   * Terms of the persisted log, starting with the entry the snapshot stands for (index 1,
   * term 1 after a bootstrap, as in the paper's figures).
   */
  logTerms(): number[] {
    const terms: number[] = [];
    for (let i = this.storage.firstIndex() - 1; i <= this.storage.lastIndex(); i++) {
      terms.push(this.storage.term(i));
    }
    return terms;
  }
}

/**
 * A storage for a founding member whose log after the bootstrap entry (index 1, term 1)
 * holds entries of the given terms, as in the paper's figures (which start at index 1, term 1).
 */
export function storageWithLog(
  voters: NodeId[],
  terms: number[],
  hardState: { term: number; vote?: NodeId | null; commit?: number },
): MemoryStorage {
  const storage = MemoryStorage.bootstrap(voters);
  const [first, ...rest] = terms;
  if (first !== 1) throw new Error('figure logs start with term 1 at index 1 (the bootstrap)');
  storage.append(
    rest.map((term, i): Entry => ({ term, index: i + 2, type: 'normal', data: bytes(`t${term}`) })),
  );
  storage.setHardState({
    term: hardState.term,
    vote: hardState.vote ?? null,
    commit: hardState.commit ?? 1,
  });
  return storage;
}

export interface ClusterOptions extends PeerOptions {
  seed?: number;
  learners?: NodeId[];
}

/**
 * Peers on a synchronous network: `stabilize()` processes every Ready and delivers every
 * message (FIFO) until nothing moves. Links can be cut; `filter` can drop chosen messages.
 */
export class Cluster {
  readonly peers = new Map<NodeId, Peer>();
  private readonly rng: Rng;
  private readonly cut = new Set<string>();
  private readonly options: PeerOptions;
  /** Return false to drop a message (in addition to cut links). */
  filter: ((m: Message) => boolean) | undefined;
  /** Every message handed to the network, delivered or not. */
  readonly sent: Message[] = [];

  /** Founding members share a bootstrap storage; `storages` overrides it per node. */
  constructor(
    voters: NodeId[],
    options: ClusterOptions = {},
    storages: Record<NodeId, MemoryStorage> = {},
  ) {
    const { seed = 1, learners = [], ...peerOptions } = options;
    this.rng = new Rng(seed);
    this.options = peerOptions;
    for (const id of [...voters, ...learners]) {
      this.addPeer(id, storages[id] ?? MemoryStorage.bootstrap(voters, learners));
    }
  }

  /** Starts a peer on the given storage (empty for a node joining later). */
  addPeer(id: NodeId, storage = new MemoryStorage(), options: PeerOptions = {}): Peer {
    const rng = this.rng.fork();
    const peer = new Peer(id, storage, { ...this.options, ...options }, () => rng.next());
    this.peers.set(id, peer);
    return peer;
  }

  peer(id: NodeId): Peer {
    const peer = this.peers.get(id);
    if (peer === undefined) throw new Error(`no peer ${id}`);
    return peer;
  }

  node(id: NodeId): RaftNode {
    return this.peer(id).node;
  }

  /** Cuts both directions between a and b. */
  cutLink(a: NodeId, b: NodeId): void {
    this.cut.add(`${a}>${b}`);
    this.cut.add(`${b}>${a}`);
  }

  isolate(id: NodeId): void {
    for (const other of this.peers.keys()) if (other !== id) this.cutLink(id, other);
  }

  /** Splits the cluster: no traffic between the two groups. */
  partition(a: NodeId[], b: NodeId[]): void {
    for (const x of a) for (const y of b) this.cutLink(x, y);
  }

  heal(): void {
    this.cut.clear();
    this.filter = undefined;
  }

  /** Reconnects one node to everyone. */
  reconnect(id: NodeId): void {
    for (const link of [...this.cut]) {
      const [from, to] = link.split('>');
      if (from === id || to === id) this.cut.delete(link);
    }
  }

  private delivers(m: Message): boolean {
    if (this.cut.has(`${m.from}>${m.to}`)) return false;
    if (this.filter !== undefined && !this.filter(m)) return false;
    return this.peers.get(m.to)?.alive === true;
  }

  /** Processes Readies and delivers messages until the cluster is quiet. */
  stabilize(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      const queue: Message[] = [];
      for (const peer of this.peers.values()) {
        while (peer.hasReady()) queue.push(...peer.handleReady());
      }
      if (queue.length === 0) return;
      for (const m of queue) this.deliver(m);
    }
    throw new Error('cluster did not stabilize');
  }

  private deliver(m: Message): void {
    this.sent.push(m);
    const ok = this.delivers(m);
    if (ok) this.peer(m.to).node.step(m);
    // The transport reports how a snapshot send went, as a real one would.
    if (m.type === 'snapshot') {
      const sender = this.peers.get(m.from);
      if (sender?.alive) sender.node.reportSnapshot(m.to, ok);
    }
  }

  tick(id: NodeId, times = 1): void {
    for (let i = 0; i < times; i++) {
      this.peer(id).node.tick();
      this.stabilize();
    }
  }

  /** Ticks every live peer `times` times, stabilizing after each round. */
  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) {
      for (const peer of this.peers.values()) if (peer.alive) peer.node.tick();
      this.stabilize();
    }
  }

  campaign(id: NodeId): void {
    this.node(id).campaign();
    this.stabilize();
  }

  propose(id: NodeId, value: string): void {
    this.node(id).propose(bytes(value));
    this.stabilize();
  }

  status(id: NodeId) {
    return this.node(id).status();
  }

  /** Messages handed to the network so far that match the predicate. */
  countSent(predicate: (m: Message) => boolean): number {
    return this.sent.filter(predicate).length;
  }

  /** Live leaders, by id. */
  leaders(): NodeId[] {
    return [...this.peers.values()]
      .filter((p) => p.alive && p.node.status().role === 'leader')
      .map((p) => p.id);
  }

  leader(): Peer | undefined {
    let best: Peer | undefined;
    for (const peer of this.peers.values()) {
      const s = peer.node.status();
      if (!peer.alive || s.role !== 'leader') continue;
      if (best === undefined || s.term > best.node.status().term) best = peer;
    }
    return best;
  }

  /** Ticks until some peer leads (and its first entry is committed), or throws. */
  waitForLeader(maxTicks = 200): Peer {
    for (let i = 0; i < maxTicks; i++) {
      const leader = this.leader();
      if (leader !== undefined) {
        const s = leader.node.status();
        if (s.commit === s.lastIndex) return leader;
      }
      this.tickAll();
    }
    throw new Error('no leader elected');
  }
}
