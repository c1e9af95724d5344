/**
 * Mounts a dockerd leaves behind when it dies uncleanly: the bind mount of its data root, overlay
 * `merged` directories, nsfs mounts of container network namespaces under its exec root.
 */
import { readFile } from 'node:fs/promises';
import { tryRun } from './exec.js';

/** Mount points in our mount namespace, in mount order (later mounts can sit on earlier ones). */
export async function mountPoints(): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const points: string[] = [];
  for (const line of text.split('\n')) {
    const field = line.split(' ')[4];
    if (field) points.push(unescapeMountPath(field));
  }
  return points;
}

/** mountinfo writes space, tab, newline and backslash as octal escapes (\040 ...). */
function unescapeMountPath(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) =>
    String.fromCharCode(Number.parseInt(octal, 8)),
  );
}

function isUnder(path: string, dir: string): boolean {
  const base = dir.endsWith('/') ? dir.slice(0, -1) : dir;
  return path === base || path.startsWith(`${base}/`);
}

export async function mountsUnder(dir: string): Promise<string[]> {
  return (await mountPoints()).filter((point) => isUnder(point, dir));
}

/**
 * Unmounts everything at or below `dir`, newest first; a mount that stays busy is detached
 * lazily. Returns the mount points still present afterwards (empty when all went).
 */
export async function unmountUnder(dir: string): Promise<string[]> {
  for (let round = 0; round < 3; round++) {
    const points = await mountsUnder(dir);
    if (points.length === 0) return [];
    for (const point of points.reverse()) {
      const result = await tryRun('umount', [point]);
      if (result.code !== 0) await tryRun('umount', ['-l', point]);
    }
  }
  return mountsUnder(dir);
}
