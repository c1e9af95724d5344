/**
 * Secrets, configs and networks inside the cluster store: one table per kind, each object
 * reachable by id and by name, and the apply rules of the object.* commands.
 *
 * Rules that hold whoever proposes:
 * - a name belongs to one object of a kind at a time;
 * - only labels change after creation (Docker: "only updates to Labels are allowed");
 * - a secret or config a service uses is not removed (the store checks, at apply, against
 *   every service spec, so a removal racing a `service create` cannot leave a dangling use).
 */
import { checkVersion, compare, deepFreeze, refuse } from './apply-rules.js';
import type { CommandRefusal } from './commands.js';
import type { Config, Network, Secret } from './object-types.js';

export type ObjectKind = 'secret' | 'config' | 'network';
export interface ObjectOfKind {
  secret: Secret;
  config: Config;
  network: Network;
}
export type StoredObject = Secret | Config | Network;
export type NewObject<K extends ObjectKind> = Omit<ObjectOfKind[K], 'Version'>;

export type ObjectEvent =
  | { kind: ObjectKind; index: number; action: 'create'; object: StoredObject }
  | {
      kind: ObjectKind;
      index: number;
      action: 'update';
      object: StoredObject;
      previous: StoredObject;
    }
  | { kind: ObjectKind; index: number; action: 'remove'; object: StoredObject };

type Outcome<T> = { ok: true; object: T } | CommandRefusal;
type Emit = (event: ObjectEvent) => void;

class NamedTable<T extends StoredObject> {
  private byId = new Map<string, T>();
  private byName = new Map<string, string>();

  constructor(readonly kind: ObjectKind) {}

  get(id: string): T | undefined {
    return this.byId.get(id);
  }

  getByName(name: string): T | undefined {
    const id = this.byName.get(name);
    return id === undefined ? undefined : this.byId.get(id);
  }

  list(): T[] {
    return [...this.byId.values()].sort((a, b) => compare(a.ID, b.ID));
  }

  load(objects: readonly T[]): void {
    this.byId = new Map();
    this.byName = new Map();
    for (const object of objects) this.put(deepFreeze(object));
  }

  create(object: Omit<T, 'Version'>, index: number, emit: Emit): Outcome<T> {
    if (this.byId.has(object.ID)) return refuse('conflict', `${this.kind} ${object.ID} exists`);
    const holder = this.getByName(object.Spec.Name);
    if (holder) {
      return refuse('conflict', `${this.kind} ${object.Spec.Name} already exists (${holder.ID})`);
    }
    const created = deepFreeze({ ...object, Version: { Index: index } } as T);
    this.put(created);
    emit({ kind: this.kind, index, action: 'create', object: created });
    return { ok: true, object: created };
  }

  updateLabels(
    id: string,
    version: number,
    labels: Record<string, string>,
    at: string,
    index: number,
    emit: Emit,
  ): Outcome<T> {
    const previous = this.byId.get(id);
    if (!previous) return refuse('not_found', `${this.kind} ${id} not found`);
    const stale = checkVersion(`${this.kind} ${previous.Spec.Name}`, previous, version);
    if (stale) return stale;
    const updated = deepFreeze({
      ...previous,
      Spec: { ...previous.Spec, Labels: labels },
      UpdatedAt: at,
      Version: { Index: index },
    } as T);
    this.put(updated);
    emit({ kind: this.kind, index, action: 'update', object: updated, previous });
    return { ok: true, object: updated };
  }

  remove(id: string, index: number, emit: Emit): Outcome<T> {
    const object = this.byId.get(id);
    if (!object) return refuse('not_found', `${this.kind} ${id} not found`);
    this.byId.delete(id);
    this.byName.delete(object.Spec.Name);
    emit({ kind: this.kind, index, action: 'remove', object });
    return { ok: true, object };
  }

  private put(object: T): void {
    this.byId.set(object.ID, object);
    this.byName.set(object.Spec.Name, object.ID);
  }
}

export class ObjectTables {
  readonly secrets = new NamedTable<Secret>('secret');
  readonly configs = new NamedTable<Config>('config');
  readonly networks = new NamedTable<Network>('network');

  table<K extends ObjectKind>(kind: K): NamedTable<ObjectOfKind[K]> {
    const tables = { secret: this.secrets, config: this.configs, network: this.networks };
    return tables[kind] as unknown as NamedTable<ObjectOfKind[K]>;
  }

  contents(): { secrets: Secret[]; configs: Config[]; networks: Network[] } {
    return {
      secrets: this.secrets.list(),
      configs: this.configs.list(),
      networks: this.networks.list(),
    };
  }

  load(contents: { secrets: Secret[]; configs: Config[]; networks: Network[] }): void {
    this.secrets.load(contents.secrets);
    this.configs.load(contents.configs);
    this.networks.load(contents.networks);
  }
}
