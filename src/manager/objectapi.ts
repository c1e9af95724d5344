/**
 * Secrets, configs and networks behind the control API (`/secrets`, `/configs`, `/networks`).
 * Data arrives as bytes (the API decoded Docker's base64); a secret is sealed here, before it
 * is proposed, so its plain bytes are never in a Raft entry. Reads never return a secret's data.
 */
import { InvalidArgumentError, SwarmtsError } from '../errors.js';
import type { RandomBytes } from '../p2p/tokens.js';
import type { ClusterStore } from '../state/index.js';
import type { ObjectKind, ObjectOfKind } from '../state/object-tables.js';
import {
  type Config,
  MAX_CONFIG_BYTES,
  MAX_SECRET_BYTES,
  type Network,
  type NetworkSpec,
  OBJECT_NAME,
  type Secret,
} from '../state/object-types.js';
import type { Consensus } from './consensus.js';
import { anyValue, labelMatches } from './filters.js';
import type { SecretSeal } from './secret-seal.js';
import { newObjectId } from './serviceapi.js';

export interface ObjectApiDeps {
  store: ClusterStore;
  consensus: Consensus;
  now: () => Date;
  randomBytes: RandomBytes;
  seal: SecretSeal;
}

export interface ObjectFilters {
  id?: string[];
  /** Prefix of the name, as `docker secret ls --filter name=` matches. */
  name?: string[];
  /** Exact names. */
  names?: string[];
  label?: string[];
  driver?: string[];
  scope?: string[];
  type?: string[];
}

export interface DataObjectInput {
  Name: string;
  Labels: Record<string, string>;
  Data: Uint8Array;
}

export type NetworkInput = NetworkSpec;

/** The secret as the API shows it: never its data. */
export type SecretView = Omit<Secret, 'Sealed'>;

export class ObjectApi {
  constructor(private readonly deps: ObjectApiDeps) {}

  async createSecret(input: DataObjectInput): Promise<{ ID: string }> {
    checkName('secret', input.Name);
    checkSize('secret', input.Data, MAX_SECRET_BYTES);
    await this.refuseTaken('secret', input.Name);
    const ID = newObjectId(this.deps.randomBytes);
    const at = this.deps.now().toISOString();
    await this.deps.consensus.propose({
      type: 'secret.create',
      secret: {
        ID,
        CreatedAt: at,
        UpdatedAt: at,
        Spec: { Name: input.Name, Labels: input.Labels },
        Sealed: this.deps.seal.seal(ID, input.Data),
      },
    });
    return { ID };
  }

  async createConfig(input: DataObjectInput): Promise<{ ID: string }> {
    checkName('config', input.Name);
    checkSize('config', input.Data, MAX_CONFIG_BYTES);
    await this.refuseTaken('config', input.Name);
    const ID = newObjectId(this.deps.randomBytes);
    const at = this.deps.now().toISOString();
    await this.deps.consensus.propose({
      type: 'config.create',
      config: {
        ID,
        CreatedAt: at,
        UpdatedAt: at,
        Spec: { Name: input.Name, Labels: input.Labels },
        Data: input.Data,
      },
    });
    return { ID };
  }

  async createNetwork(input: NetworkInput): Promise<{ Id: string; Warning: string }> {
    if (input.Name === '' || input.Name.length > 128) {
      throw new InvalidArgumentError('invalid network name: must be 1-128 characters');
    }
    if (!['overlay', ''].includes(input.Driver)) {
      throw new InvalidArgumentError(
        `network driver ${JSON.stringify(input.Driver)} is not supported: swarm networks use overlay`,
      );
    }
    await this.refuseTaken('network', input.Name);
    const ID = newObjectId(this.deps.randomBytes);
    const at = this.deps.now().toISOString();
    await this.deps.consensus.propose({
      type: 'network.create',
      network: {
        ID,
        CreatedAt: at,
        UpdatedAt: at,
        Spec: { ...input, Driver: 'overlay' },
      },
    });
    return { Id: ID, Warning: '' };
  }

  /**
   * Only labels change, as in Docker. The name and (for configs and secrets) the data may be
   * sent again unchanged, which is what `docker stack deploy` does on a redeploy.
   */
  async updateLabels(
    kind: 'secret' | 'config',
    ref: string,
    version: number,
    input: { Name?: string; Labels: Record<string, string>; Data?: Uint8Array },
  ): Promise<void> {
    await this.deps.consensus.readBarrier();
    const object = this.find(kind, ref);
    const sameName = input.Name === undefined || input.Name === object.Spec.Name;
    const sameData = input.Data === undefined || this.sameData(kind, object, input.Data);
    if (!sameName || !sameData) {
      throw new InvalidArgumentError(`only updates to Labels are allowed`);
    }
    await this.deps.consensus.propose({
      type: 'object.updateLabels',
      kind,
      id: object.ID,
      version,
      labels: input.Labels,
      at: this.deps.now().toISOString(),
    });
  }

  async remove(kind: ObjectKind, ref: string): Promise<void> {
    await this.deps.consensus.readBarrier();
    const object = this.find(kind, ref);
    await this.deps.consensus.propose({ type: 'object.remove', kind, id: object.ID });
  }

  listSecrets(filters: ObjectFilters): SecretView[] {
    return this.list('secret', filters).map(secretView);
  }

  inspectSecret(ref: string): SecretView {
    return secretView(this.find('secret', ref));
  }

  listConfigs(filters: ObjectFilters): Config[] {
    return this.list('config', filters);
  }

  inspectConfig(ref: string): Config {
    return this.find('config', ref);
  }

  listNetworks(filters: ObjectFilters): Network[] {
    return this.list('network', filters).filter(
      (network) =>
        anyValue(filters.driver, (driver) => driver === network.Spec.Driver) &&
        anyValue(filters.scope, (scope) => scope === 'swarm') &&
        anyValue(filters.type, (type) => type === 'custom'),
    );
  }

  inspectNetwork(ref: string): Network {
    return this.find('network', ref);
  }

  /** By ID, by name, or by a unique ID prefix, as Docker resolves them. */
  find<K extends ObjectKind>(kind: K, ref: string): ObjectOfKind[K] {
    const store = this.deps.store;
    const exact =
      ref === ''
        ? undefined
        : (store.listObjects(kind).find((o) => o.ID === ref) ?? store.getObjectByName(kind, ref));
    if (exact) return exact;
    const byPrefix = ref === '' ? [] : store.listObjects(kind).filter((o) => o.ID.startsWith(ref));
    if (byPrefix.length > 1) {
      throw new InvalidArgumentError(`${kind} ${ref} is ambiguous (${byPrefix.length} matches)`);
    }
    if (byPrefix[0]) return byPrefix[0];
    throw new SwarmtsError('not_found', `${kind} ${ref} not found`);
  }

  private list<K extends ObjectKind>(kind: K, filters: ObjectFilters): ObjectOfKind[K][] {
    return this.deps.store
      .listObjects(kind)
      .filter(
        (o) =>
          anyValue(filters.id, (id) => o.ID.startsWith(id)) &&
          anyValue(filters.name, (name) => o.Spec.Name.startsWith(name)) &&
          anyValue(filters.names, (name) => o.Spec.Name === name) &&
          (filters.label ?? []).every((label) => labelMatches(o.Spec.Labels, label)),
      );
  }

  private async refuseTaken(kind: ObjectKind, name: string): Promise<void> {
    await this.deps.consensus.readBarrier();
    if (this.deps.store.getObjectByName(kind, name)) {
      throw new SwarmtsError('conflict', `${kind} ${name} already exists`);
    }
  }

  private sameData(kind: 'secret' | 'config', object: Secret | Config, data: Uint8Array): boolean {
    const current =
      kind === 'secret'
        ? this.deps.seal.unseal(object.ID, (object as Secret).Sealed)
        : (object as Config).Data;
    return Buffer.from(current).equals(Buffer.from(data));
  }
}

function secretView(secret: Secret): SecretView {
  const { Sealed: _sealed, ...view } = secret;
  return view;
}

function checkName(kind: string, name: string): void {
  if (name.length === 0 || name.length > 64 || !OBJECT_NAME.test(name)) {
    throw new InvalidArgumentError(
      `invalid ${kind} name ${JSON.stringify(name)}: must be 1-64 letters, digits, "-", "_" or ".", starting and ending with a letter or digit`,
    );
  }
}

function checkSize(kind: string, data: Uint8Array, max: number): void {
  if (data.length === 0) throw new InvalidArgumentError(`${kind} data must not be empty`);
  if (data.length > max) {
    throw new InvalidArgumentError(
      `${kind} data is too long (${data.length} bytes; the limit is ${max} bytes)`,
    );
  }
}
