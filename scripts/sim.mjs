#!/usr/bin/env node
// Runs the deterministic Raft simulation (test/sim/sim.test.ts) over many seeds, or replays one.
//
//   npm run sim                                 1000 seeds, 400 steps each (as in CI)
//   npm run sim -- --seeds 100000               seeds 1..100000
//   npm run sim -- --seed 4242                  replay one seed (the failure message names it)
//   npm run sim -- --seed 4242 --steps 400 --trace   ... and print every event
//
// Options: --seeds N, --first-seed N, --seed N (= --first-seed N --seeds 1), --steps N, --trace.
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const usage = 'usage: npm run sim -- [--seeds N] [--first-seed N | --seed N] [--steps N] [--trace]';

let values;
try {
  ({ values } = parseArgs({
    options: {
      seeds: { type: 'string' },
      seed: { type: 'string' },
      'first-seed': { type: 'string' },
      steps: { type: 'string' },
      trace: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
} catch (err) {
  console.error(`Error: ${err.message}\n${usage}`);
  process.exit(1);
}
if (values.help) {
  console.log(usage);
  process.exit(0);
}

function integer(name, value) {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) {
    console.error(`Error: --${name} must be a non-negative integer, got "${value}"\n${usage}`);
    process.exit(1);
  }
  return String(n);
}

const seed = integer('seed', values.seed);
if (seed !== undefined && (values.seeds !== undefined || values['first-seed'] !== undefined)) {
  console.error(
    `Error: --seed replays one seed; do not combine it with --seeds or --first-seed\n${usage}`,
  );
  process.exit(1);
}

const env = { ...process.env };
const set = (key, value) => {
  if (value !== undefined) env[key] = value;
};
set('SWARMTS_SIM_SEEDS', seed !== undefined ? '1' : integer('seeds', values.seeds));
set('SWARMTS_SIM_FIRST_SEED', seed ?? integer('first-seed', values['first-seed']));
set('SWARMTS_SIM_STEPS', integer('steps', values.steps));
if (values.trace) env.SWARMTS_SIM_TRACE = '1';

const result = spawnSync('npx', ['vitest', 'run', 'test/sim/sim.test.ts'], {
  stdio: 'inherit',
  env,
});
process.exit(result.status ?? 1);
