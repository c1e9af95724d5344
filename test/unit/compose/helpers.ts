import { expect } from 'vitest';
import { ComposeError } from '../../../src/compose/errors.js';
import { loadStack, type StackFile, type StackPlan } from '../../../src/compose/index.js';
import type { ServiceSpec } from '../../../src/state/service-types.js';

export const WORKDIR = '/srv/app';

export interface StackOptions {
  env?: Record<string, string | undefined>;
  /** Files readFile can see, by absolute path. */
  files?: Record<string, string>;
  namespace?: string;
}

/** Loads one file (named docker-compose.yml) or several, in /srv/app. */
export function stack(input: string | StackFile[], options: StackOptions = {}): StackPlan {
  const files = typeof input === 'string' ? [{ path: 'docker-compose.yml', text: input }] : input;
  const readable = options.files ?? {};
  return loadStack(files, {
    namespace: options.namespace ?? 'app',
    env: options.env ?? {},
    workingDir: WORKDIR,
    readFile: (path) => {
      const text = readable[path];
      if (text !== undefined) return text;
      throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), {
        code: 'ENOENT',
      });
    },
  });
}

export function serviceSpec(plan: StackPlan, name: string): ServiceSpec {
  const found = plan.services.find((service) => service.name === name);
  if (!found) throw new Error(`no service ${name}`);
  return found.spec;
}

/** The ComposeError `run` throws (the test fails if it throws nothing or something else). */
export function composeError(run: () => unknown): ComposeError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ComposeError);
    return error as ComposeError;
  }
  throw new Error('expected a ComposeError');
}
