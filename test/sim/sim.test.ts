/**
 * Runs the Raft simulation over many seeds, in chunks so long runs show progress. Defaults keep
 * CI fast; `npm run sim` sets SWARMTS_SIM_SEEDS / SWARMTS_SIM_FIRST_SEED / SWARMTS_SIM_STEPS
 * (and SWARMTS_SIM_TRACE=1) for longer runs or to replay one seed.
 */
import { describe, expect, it } from 'vitest';
import { runSimulation } from './simulation.js';

const env = process.env;
const seeds = integer(env.SWARMTS_SIM_SEEDS, 1000);
const firstSeed = integer(env.SWARMTS_SIM_FIRST_SEED, 1);
const steps = integer(env.SWARMTS_SIM_STEPS, 400);
const trace = env.SWARMTS_SIM_TRACE === '1';
const CHUNK = 500;

describe('raft simulation', () => {
  for (let from = firstSeed; from < firstSeed + seeds; from += CHUNK) {
    const to = Math.min(from + CHUNK, firstSeed + seeds) - 1;
    it(`keeps safety and liveness for seeds ${from}..${to} (${steps} steps each)`, () => {
      let commits = 0;
      let elections = 0;
      for (let seed = from; seed <= to; seed++) {
        const result = runSimulation({ seed, steps, trace });
        commits += result.commits;
        elections += result.elections;
        if (trace) console.log(result.trace.join('\n'));
      }
      // Guard against faults so harsh (or a harness so broken) that nothing happens.
      const count = to - from + 1;
      expect(commits).toBeGreaterThan(count * 5);
      expect(elections).toBeGreaterThanOrEqual(count);
    }, 120_000);
  }
});

function integer(value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new Error(`expected a non-negative integer, got "${value}"`);
  }
  return n;
}
