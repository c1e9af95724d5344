/**
 * Reserved CPU and memory: what a task asks for, and how the amounts read in a reason
 * ("lacks 512MiB memory", "lacks 2 CPUs"). Only reservations count; limits cap a running
 * container and do not take capacity away from other tasks, as in Docker.
 */
import type { TaskSpec } from '../../state/service-types.js';

export interface Reservation {
  /** NanoCPUs; 0 when none is reserved. */
  readonly nanoCPUs: number;
  /** Bytes; 0 when none is reserved. */
  readonly memoryBytes: number;
}

export function reservationOf(spec: TaskSpec): Reservation {
  const reserved = spec.Resources?.Reservations;
  return { nanoCPUs: positive(reserved?.NanoCPUs), memoryBytes: positive(reserved?.MemoryBytes) };
}

// A negative or NaN amount from a hand-written spec would otherwise give capacity back.
function positive(value: number | undefined): number {
  return value !== undefined && value > 0 ? value : 0;
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/** 536870912 → "512MiB", 1610612736 → "1.5GiB": binary units as `docker` prints them. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${trim(value, 2)}${BYTE_UNITS[unit]}`;
}

/** 2e9 → "2 CPUs", 1e9 → "1 CPU", 5e8 → "0.5 CPUs". */
export function formatCpus(nanoCPUs: number): string {
  const cpus = trim(nanoCPUs / 1e9, 3);
  return `${cpus} ${cpus === '1' ? 'CPU' : 'CPUs'}`;
}

function trim(value: number, decimals: number): string {
  return String(Number(value.toFixed(decimals)));
}
