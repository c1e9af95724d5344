/**
 * Deterministic simulation of a Raft cluster under faults. One seed fixes everything: cluster
 * size, options, and every fault. Each step: maybe inject events (client proposals and reads,
 * partitions, crashes and restarts, compaction, membership changes, leadership transfers),
 * tick every live node, deliver the messages that are due (some dropped, duplicated or
 * delayed, hence reordered), then let nodes process their Ready (sometimes late, so a crash
 * loses what was not yet persisted). The Checker verifies safety after every Ready; at the
 * end the network heals and a new value must reach every live member (liveness).
 */
import { coalesceMessages } from '../../src/raft/coalesce.js';
import {
  ConfChangeRefusedError,
  LeaderTransferRefusedError,
  MemoryStorage,
  type Message,
  type NodeId,
  ProposalDroppedError,
  ReadIndexDroppedError,
} from '../../src/raft/index.js';
import { bytes, Peer, type PeerOptions, text } from '../unit/raft/harness.js';
import { Checker, SafetyViolation } from './checker.js';
import { Rng } from './rng.js';

export interface SimOptions {
  seed: number;
  steps: number;
  /** Collect a trace of events (for replaying a failing seed). */
  trace?: boolean;
}

export interface SimResult {
  seed: number;
  steps: number;
  commits: number;
  elections: number;
  trace: string[];
}

export class SimulationFailure extends Error {
  static override name = 'SimulationFailure';
  constructor(
    readonly seed: number,
    readonly steps: number,
    readonly step: number,
    cause: Error,
    trace: readonly string[],
  ) {
    super(
      `seed ${seed} failed at step ${step}: ${cause.message}\n` +
        `replay: npm run sim -- --seed ${seed} --steps ${steps}\n` +
        (trace.length > 0 ? `last events:\n  ${trace.join('\n  ')}` : ''),
      { cause },
    );
    this.name = 'SimulationFailure';
  }
}

interface Fault {
  /** Per-step chances of crashing a node, of a new partition (and twice that of healing). */
  crash: number;
  partition: number;
  /** Chance that a newly elected leader crashes within a few steps (figure 8 histories). */
  leaderCrash: number;
  confChange: number;
  drop: number;
  duplicate: number;
  maxDelay: number;
  /** Chance that a node processes its Ready in a given step (else it lags). */
  readyRate: number;
}

interface InFlight {
  at: number;
  m: Message;
}

const MIN_VOTERS = 3;
const MAX_MEMBERS = 7;
const LIVENESS_STEPS = 1500;

export function runSimulation(options: SimOptions): SimResult {
  const sim = new Simulation(options);
  let step = 0;
  try {
    for (; step < options.steps; step++) sim.step(step);
    sim.checkLiveness(step);
  } catch (err) {
    const cause = err instanceof Error ? err : new Error(String(err));
    throw new SimulationFailure(options.seed, options.steps, sim.now, cause, sim.lastEvents());
  }
  return sim.result();
}

class Simulation {
  private readonly rng: Rng;
  private readonly peers = new Map<NodeId, Peer>();
  private readonly checker = new Checker();
  private readonly options: PeerOptions;
  private readonly fault: Fault;
  private inFlight: InFlight[] = [];
  /** Partition group per node; nodes in different groups cannot talk. */
  private group = new Map<NodeId, number>();
  private readonly scheduledCrashes = new Map<NodeId, number>();
  private nextNodeNumber: number;
  private counter = 0;
  private elections = 0;
  private readonly events: string[] = [];
  now = 0;

  constructor(private readonly sim: SimOptions) {
    this.rng = new Rng(sim.seed);
    const size = this.rng.chance(0.5) ? 3 : 5;
    const voters = Array.from({ length: size }, (_, i) => `n${i + 1}`);
    this.nextNodeNumber = size + 1;
    this.options = {
      electionTicks: 10,
      heartbeatTicks: this.rng.pick([1, 1, 2, 3]),
      preVote: this.rng.chance(0.85),
      checkQuorum: this.rng.chance(0.85),
      maxSizePerMsg: this.rng.pick([1, 64, 256, 4096]),
      maxInflightMsgs: this.rng.pick([1, 2, 4, 16]),
      maxCommittedSizePerReady: this.rng.pick([64, 1024, 1 << 20]),
    };
    this.fault = {
      crash: this.rng.pick([0.003, 0.01, 0.03, 0.1, 0.2]),
      partition: this.rng.pick([0.003, 0.01, 0.03]),
      leaderCrash: this.rng.pick([0, 0.1, 0.3]),
      confChange: this.rng.pick([0.005, 0.01, 0.03]),
      drop: this.rng.pick([0, 0.01, 0.05, 0.15]),
      duplicate: this.rng.pick([0, 0.02, 0.1]),
      maxDelay: this.rng.pick([1, 2, 4, 8]),
      readyRate: this.rng.pick([1, 0.9, 0.6]),
    };
    for (const id of voters) this.addPeer(id, MemoryStorage.bootstrap(voters));
    this.log(`start ${JSON.stringify({ voters, ...this.options, ...this.fault })}`);
  }

  lastEvents(): string[] {
    return this.sim.trace ? this.events : this.events.slice(-40);
  }

  result(): SimResult {
    return {
      seed: this.sim.seed,
      steps: this.sim.steps,
      commits: this.checker.maxKnownCommit,
      elections: this.elections,
      trace: this.sim.trace ? this.events : [],
    };
  }

  step(now: number): void {
    this.now = now;
    this.injectEvents();
    for (const peer of this.livePeers()) if (this.rng.chance(0.97)) peer.node.tick();
    this.deliverDue();
    this.processReadies(this.fault.readyRate);
  }

  // ---------------------------------------------------------------- events

  private injectEvents(): void {
    const r = this.rng;
    if (r.chance(0.3)) this.propose();
    if (r.chance(0.05)) this.read();
    if (r.chance(this.fault.partition)) this.partition();
    if (r.chance(this.fault.partition * 2)) this.heal();
    if (r.chance(this.fault.crash)) this.crash();
    if (r.chance(this.fault.crash * 3)) this.restart();
    if (r.chance(0.02)) this.compact();
    // A connection blip: a node wrongly believes it lost its link to another (its leader?).
    if (r.chance(0.01)) {
      const [a, b] = [this.randomLivePeer(), this.randomLivePeer()];
      if (a && b && a !== b) a.node.reportLeaderLost(b.id);
    }
    if (r.chance(this.fault.confChange)) this.changeMembership();
    for (const [id, at] of this.scheduledCrashes) {
      if (at > this.now) continue;
      this.scheduledCrashes.delete(id);
      const peer = this.peers.get(id);
      if (peer?.alive) {
        peer.crash();
        this.checker.crashed(peer);
        this.log(`crash ${id} (new leader)`);
      }
    }
    if (r.chance(0.005)) this.transferLeader();
  }

  private propose(value = `v${this.counter++}`): void {
    const peer = this.randomLivePeer();
    if (peer === undefined) return;
    try {
      peer.node.propose(bytes(value));
      this.log(`propose ${value} at ${peer.id}`);
    } catch (err) {
      if (!(err instanceof ProposalDroppedError)) throw err;
    }
  }

  private read(): void {
    const peer = this.randomLivePeer();
    if (peer === undefined) return;
    const context = `r${this.counter++}`;
    try {
      this.checker.readIssued(context);
      peer.node.readIndex(bytes(context));
      this.log(`read ${context} at ${peer.id}`);
    } catch (err) {
      if (!(err instanceof ReadIndexDroppedError)) throw err;
    }
  }

  private partition(): void {
    const ids = [...this.peers.keys()];
    this.group = new Map();
    const leader = this.livePeers().find((p) => p.softState.role === 'leader');
    if (this.rng.chance(0.6)) {
      // Most often cut off one node, the leader by preference.
      const lone = leader !== undefined && this.rng.chance(0.5) ? leader.id : this.rng.pick(ids);
      for (const id of ids) this.group.set(id, id === lone ? 1 : 0);
    } else {
      for (const id of ids) this.group.set(id, this.rng.int(2));
    }
    this.log(`partition ${ids.map((id) => `${id}:${this.group.get(id)}`).join(' ')}`);
  }

  private heal(): void {
    if (this.group.size === 0) return;
    this.group = new Map();
    this.log('heal');
  }

  private crash(): void {
    const leader = this.livePeers().find((p) => p.softState.role === 'leader');
    const peer = leader !== undefined && this.rng.chance(0.4) ? leader : this.randomLivePeer();
    if (peer === undefined) return;
    peer.crash();
    this.checker.crashed(peer);
    this.log(`crash ${peer.id}`);
    // Its connections drop: the transports of the others may notice (their leader, maybe).
    for (const other of this.livePeers()) {
      if (this.rng.chance(0.5)) other.node.reportLeaderLost(peer.id);
    }
  }

  private restart(): void {
    const dead = [...this.peers.values()].filter((p) => !p.alive);
    if (dead.length === 0) return;
    const peer = this.rng.pick(dead);
    peer.restart();
    this.log(
      `restart ${peer.id} (term ${peer.node.status().term}, last ${peer.node.status().lastIndex})`,
    );
  }

  private compact(): void {
    const peer = this.randomLivePeer();
    if (peer === undefined) return;
    const keep = this.rng.pick([0, 0, 2, 10]);
    if (peer.compact(keep)) this.log(`compact ${peer.id} at ${peer.app.index} keeping ${keep}`);
  }

  private changeMembership(): void {
    const leader = this.livePeers().find((p) => p.node.status().role === 'leader');
    if (leader === undefined) return;
    const { voters, learners } = leader.node.status().conf;
    const members = voters.length + learners.length;
    const choices: (() => void)[] = [];
    const newId = `n${this.nextNodeNumber}`;
    const propose =
      (
        type: 'addVoter' | 'addLearner' | 'promoteLearner' | 'demoteVoter' | 'removeNode',
        id: NodeId,
      ) =>
      () => {
        try {
          leader.node.proposeConfChange({ type, nodeId: id });
        } catch (err) {
          if (err instanceof ConfChangeRefusedError || err instanceof ProposalDroppedError) {
            this.log(`${type} ${id} at ${leader.id} refused: ${err.reason}`);
            return;
          }
          throw err;
        }
        this.log(`${type} ${id} proposed at ${leader.id}`);
        if (id === newId) {
          this.nextNodeNumber++;
          this.addPeer(id, new MemoryStorage());
        }
      };
    if (members < MAX_MEMBERS) {
      choices.push(propose('addVoter', newId), propose('addLearner', newId));
    }
    for (const id of learners)
      choices.push(propose('promoteLearner', id), propose('removeNode', id));
    if (voters.length > MIN_VOTERS) {
      for (const id of voters) choices.push(propose('removeNode', id), propose('demoteVoter', id));
    }
    if (choices.length > 0) this.rng.pick(choices)();
  }

  private transferLeader(): void {
    const peer = this.randomLivePeer();
    if (peer === undefined) return;
    const target = this.rng.pick(
      peer.node.status().conf.voters.length > 0 ? peer.node.status().conf.voters : [peer.id],
    );
    try {
      peer.node.transferLeader(target);
      this.log(`transfer to ${target} requested at ${peer.id}`);
    } catch (err) {
      if (!(err instanceof LeaderTransferRefusedError)) throw err;
    }
  }

  // ---------------------------------------------------------------- network

  private send(messages: readonly Message[]): void {
    for (const m of messages) {
      this.inFlight.push({ at: this.now + this.delay(), m });
      if (this.rng.chance(this.fault.duplicate)) {
        this.inFlight.push({ at: this.now + this.delay(), m });
      }
    }
  }

  private delay(): number {
    // Mostly one step; now and then much longer than an election timeout.
    return this.rng.chance(0.02)
      ? this.rng.between(1, 25)
      : this.rng.between(1, this.fault.maxDelay);
  }

  private deliverDue(): void {
    const due: InFlight[] = [];
    const later: InFlight[] = [];
    for (const f of this.inFlight) (f.at <= this.now ? due : later).push(f);
    this.inFlight = later;
    this.rng.shuffle(due);
    for (const { m } of due) this.deliver(m);
  }

  private deliver(m: Message): void {
    const to = this.peers.get(m.to);
    const from = this.peers.get(m.from);
    const linked = (this.group.get(m.from) ?? 0) === (this.group.get(m.to) ?? 0);
    const ok = to?.alive === true && linked && !this.rng.chance(this.fault.drop);
    if (ok && to !== undefined) {
      to.node.step(m);
      if (m.type === 'readIndexResponse') this.checker.readAnswered(to, text(m.context), m.index);
    } else if (!linked && from?.alive && this.rng.chance(0.3)) {
      from.node.reportUnreachable(m.to);
    }
    // The transport tells the sender how a snapshot send ended.
    if (m.type === 'snapshot' && from?.alive) from.node.reportSnapshot(m.to, ok);
  }

  private processReadies(rate: number): void {
    for (const peer of this.livePeers()) {
      if (rate < 1 && !this.rng.chance(rate)) continue;
      while (peer.hasReady()) {
        const before = peer.softState.role;
        const readsBefore = peer.readStates.length;
        // A leader's messages may leave before its own write; it may die in between.
        const crashBeforePersist = before === 'leader' && this.rng.chance(this.fault.crash);
        // As the driver does, what is committed is applied while the write is under way; the
        // node may die after applying and before its write is done.
        const crashAfterApply = !crashBeforePersist && this.rng.chance(this.fault.crash);
        // As the driver does, merge what one Ready says twice to the same peer.
        this.send(
          coalesceMessages(
            peer.handleReady({ crashBeforePersist, applyBeforePersist: true, crashAfterApply }),
          ),
        );
        if (!peer.alive) {
          this.checker.crashed(peer);
          this.log(
            crashBeforePersist
              ? `crash ${peer.id} (leader, messages sent, write lost)`
              : `crash ${peer.id} (committed entries applied, write lost)`,
          );
          break;
        }
        for (const rs of peer.readStates.slice(readsBefore)) {
          this.checker.readAnswered(peer, text(rs.context), rs.index);
        }
        peer.readStates.length = 0;
        if (before !== 'leader' && peer.softState.role === 'leader') {
          this.elections++;
          this.log(`${peer.id} leads term ${peer.node.status().term}`);
          if (this.rng.chance(this.fault.leaderCrash)) {
            this.scheduledCrashes.set(peer.id, this.now + this.rng.between(0, 3));
          }
        }
      }
    }
  }

  // ---------------------------------------------------------------- liveness

  /** Heal everything, restart every node, and require a new value to reach all live members. */
  checkLiveness(start: number): void {
    this.log('--- liveness: heal, restart all, reliable network');
    this.group = new Map();
    for (const peer of this.peers.values()) if (!peer.alive) peer.restart();
    this.fault.drop = 0;
    this.fault.duplicate = 0;
    this.fault.maxDelay = 1;
    this.fault.leaderCrash = 0;
    this.fault.crash = 0;
    this.scheduledCrashes.clear();
    const value = `final-${this.sim.seed}`;
    for (let i = 0; i < LIVENESS_STEPS; i++) {
      this.now = start + i;
      for (const peer of this.livePeers()) peer.node.tick();
      this.deliverDue();
      this.processReadies(1);
      const leader = this.livePeers().find((p) => p.softState.role === 'leader');
      if (leader === undefined) continue;
      const { voters, learners } = leader.node.status().conf;
      const members = [...voters, ...learners];
      if (members.every((id) => this.peers.get(id)?.values().includes(value))) {
        this.checkMembershipAgreement(leader, members);
        return;
      }
      if (i % 50 === 0) {
        try {
          leader.node.propose(bytes(value));
        } catch (err) {
          if (!(err instanceof ProposalDroppedError)) throw err;
        }
      }
    }
    const states = [...this.peers.values()].map((p) => {
      const s = p.node.status();
      return `${p.id}: ${s.role} term ${s.term} lead ${s.leader} commit ${s.commit} last ${s.lastIndex} voters ${s.conf.voters.join(',')}`;
    });
    throw new SafetyViolation(
      `liveness: "${value}" did not reach every member within ${LIVENESS_STEPS} steps after healing\n  ${states.join('\n  ')}`,
    );
  }

  /**
   * Once every member has applied the final value, all hold the same log prefix, so they must
   * agree with the leader on the membership in force and on the applied one.
   */
  private checkMembershipAgreement(leader: Peer, members: NodeId[]): void {
    const expected = JSON.stringify(leader.node.status().conf);
    for (const id of members) {
      const peer = this.peers.get(id)!;
      const inForce = JSON.stringify(peer.node.status().conf);
      const applied = JSON.stringify(peer.conf);
      if (inForce !== expected || applied !== expected) {
        throw new SafetyViolation(
          `membership: ${id} has ${inForce} in force and ${applied} applied; leader ${leader.id} has ${expected}`,
        );
      }
    }
  }

  // ---------------------------------------------------------------- helpers

  private addPeer(id: NodeId, storage: MemoryStorage): void {
    const rng = this.rng.fork();
    const peer = new Peer(id, storage, this.options, () => rng.next());
    this.peers.set(id, peer);
    this.checker.watch(peer);
    this.checker.setPeers(this.peers.values());
  }

  private livePeers(): Peer[] {
    return [...this.peers.values()].filter((p) => p.alive);
  }

  private randomLivePeer(): Peer | undefined {
    const live = this.livePeers();
    return live.length === 0 ? undefined : this.rng.pick(live);
  }

  private log(event: string): void {
    this.events.push(`[${this.now}] ${event}`);
    if (!this.sim.trace && this.events.length > 200) this.events.splice(0, 100);
  }
}
