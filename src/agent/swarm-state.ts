/**
 * What an agent remembers of its swarm between restarts, in <data-dir>/swarm.json (0600):
 * the cluster, its network key, where it listens and advertises, and the managers it last
 * knew. Absent = not in a swarm. Written atomically; a file that does not parse stops the
 * agent with an error naming it (guessing would mean joining the wrong network, or none).
 */
import { hkdfSync, randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { oneLineMessage, SwarmtsError } from '../errors.js';
import { nodeIdSchema } from '../manager/wire.js';

export const SWARM_STATE_FILE = 'swarm.json';
/** Present while a leave is under way; a boot that finds it finishes the leave first. */
export const LEAVING_FILE = 'leaving';

const schema = z.object({
  version: z.literal(1),
  clusterId: z.string().min(1),
  networkKey: z.string().regex(/^[0-9a-f]{64}$/),
  /** ip:port */
  listenAddr: z.string(),
  /** The IP other nodes reach this one at. */
  advertiseAddr: z.string(),
  managers: z.array(z.object({ id: nodeIdSchema, addrs: z.array(z.string().max(256)).max(16) })),
  /**
   * Set before this node first starts Raft, cleared when it leaves the Raft group. A node
   * that is a member but has no Raft data has lost its log: it must not start Raft empty,
   * since the group would count its votes and acknowledgements as if it remembered.
   */
  raftMember: z.boolean().default(false),
  /**
   * Managers only: the key that seals secrets at rest (src/manager/secret-seal.ts). Absent on
   * workers, and on managers of swarms made before it existed (they derive it, see
   * secretsKeyOf).
   */
  secretsKey: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
});
export type SwarmState = z.infer<typeof schema>;
export type NewSwarmState = z.input<typeof schema>;

export class SwarmStateError extends SwarmtsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('internal', message, options);
  }
}

export async function readSwarmState(dataDir: string): Promise<SwarmState | undefined> {
  const path = join(dataDir, SWARM_STATE_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SwarmStateError(`cannot read ${path}: ${oneLineMessage(error)}`, { cause: error });
  }
  try {
    return schema.parse(JSON.parse(text));
  } catch (error) {
    throw new SwarmStateError(
      `${path} is corrupt (${oneLineMessage(error)}); restore it, or remove ${dataDir} and join the swarm again`,
      { cause: error },
    );
  }
}

export async function writeSwarmState(dataDir: string, state: NewSwarmState): Promise<void> {
  const path = join(dataDir, SWARM_STATE_FILE);
  const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temporary, `${JSON.stringify(schema.parse(state), null, 2)}\n`, {
    mode: 0o600,
  });
  await rename(temporary, path);
}

export async function removeSwarmState(dataDir: string): Promise<void> {
  await rm(join(dataDir, SWARM_STATE_FILE), { force: true });
}

/**
 * The secrets key a manager seals with. Swarms made before the key existed derive it from
 * their network key, the same on every manager, so they keep reading what they sealed.
 */
export function secretsKeyOf(state: SwarmState): Uint8Array {
  if (state.secretsKey) return Buffer.from(state.secretsKey, 'hex');
  return new Uint8Array(
    hkdfSync('sha256', Buffer.from(state.networkKey, 'hex'), 'swarmts', 'legacy secrets key', 32),
  );
}
