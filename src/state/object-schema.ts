/**
 * The zod schemas of secrets, configs and networks as the store keeps them (commands in the
 * Raft log, snapshots). API bodies have their own schemas in the control API, which turn
 * Docker's base64 data into bytes and seal secrets before anything is proposed.
 */
import { z } from 'zod';
import type { NewObject } from './object-tables.js';
import type { Config, Network, Secret } from './object-types.js';
import { MAX_CONFIG_BYTES, MAX_SECRET_BYTES, OBJECT_NAME } from './object-types.js';

const id = z.string().min(1).max(128);
const timestamp = z.iso.datetime({ offset: true });
const labels = z.record(z.string().min(1).max(256), z.string().max(4096));
const version = z.object({ Index: z.number().int().nonnegative() });
const bytes = (max: number) =>
  z.instanceof(Uint8Array).refine((data) => data.length <= max, `must be at most ${max} bytes`);

export const objectName = z
  .string()
  .max(64, 'must be at most 64 characters')
  .regex(
    OBJECT_NAME,
    'must be letters, digits, "-", "_" or ".", starting and ending with a letter or digit',
  );

const namedSpec = z.object({ Name: objectName, Labels: labels });

const meta = { ID: id, CreatedAt: timestamp, UpdatedAt: timestamp };

// Sealing adds a 12-byte nonce and a 16-byte tag.
const secretShape = { ...meta, Spec: namedSpec, Sealed: bytes(MAX_SECRET_BYTES + 28) };
const configShape = { ...meta, Spec: namedSpec, Data: bytes(MAX_CONFIG_BYTES) };
const networkShape = {
  ...meta,
  Spec: z.object({
    Name: z.string().min(1).max(128),
    Labels: labels,
    Driver: z.string().max(64),
    Options: z.record(z.string(), z.string()),
    Attachable: z.boolean(),
    Internal: z.boolean(),
  }),
};

export const newSecret: z.ZodType<NewObject<'secret'>> = z.object(secretShape);
export const newConfig: z.ZodType<NewObject<'config'>> = z.object(configShape);
export const newNetwork: z.ZodType<NewObject<'network'>> = z.object(networkShape);
export const secretSchema: z.ZodType<Secret> = z.object({ ...secretShape, Version: version });
export const configSchema: z.ZodType<Config> = z.object({ ...configShape, Version: version });
export const networkSchema: z.ZodType<Network> = z.object({ ...networkShape, Version: version });
