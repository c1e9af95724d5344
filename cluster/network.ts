/**
 * The test network: one bridge in the root namespace, one network namespace per host joined to it
 * by a veth pair, and the subnet arithmetic to pick an address range nothing else uses.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { run, tryRun } from './exec.js';

export const NETNS_DIR = '/var/run/netns';

export function netnsPath(netns: string): string {
  return `${NETNS_DIR}/${netns}`;
}

// --- IPv4 arithmetic ---------------------------------------------------------------------------

export interface Cidr {
  /** Network address as an unsigned 32-bit number. */
  base: number;
  prefixLength: number;
}

export function parseIp(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4) throw new Error(`not an IPv4 address: ${text}`);
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255)
      throw new Error(`not an IPv4 address: ${text}`);
    value = value * 256 + Number(part);
  }
  return value;
}

export function formatIp(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

function mask(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

/** `10.1.2.0/24`, or a bare address (a /32). The base is normalised to the network address. */
export function parseCidr(text: string): Cidr {
  const [ip, length] = text.split('/');
  const prefixLength = length === undefined ? 32 : Number(length);
  if (!ip || !Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > 32) {
    throw new Error(`not an IPv4 CIDR: ${text}`);
  }
  return { base: (parseIp(ip) & mask(prefixLength)) >>> 0, prefixLength };
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIp(cidr.base)}/${cidr.prefixLength}`;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  const shorter = Math.min(a.prefixLength, b.prefixLength);
  return (a.base & mask(shorter)) >>> 0 === (b.base & mask(shorter)) >>> 0;
}

/** Address `offset` within the subnet (bridge = 1, host i = 10 + i). */
export function addressAt(cidr: Cidr, offset: number): string {
  const size = 2 ** (32 - cidr.prefixLength);
  if (offset <= 0 || offset >= size - 1) {
    throw new Error(`${formatCidr(cidr)} has no room for host number ${offset}`);
  }
  return formatIp(cidr.base + offset);
}

// --- picking a subnet --------------------------------------------------------------------------

/** IPv4 prefixes in use on this machine: every route (all tables) and every address. */
export async function usedPrefixes(): Promise<Cidr[]> {
  const used: Cidr[] = [];
  const routes = JSON.parse(
    (await run('ip', ['-4', '-j', 'route', 'show', 'table', 'all'])).stdout || '[]',
  ) as { dst?: string }[];
  for (const route of routes) {
    if (!route.dst || route.dst === 'default') continue;
    try {
      used.push(parseCidr(route.dst));
    } catch {
      // not IPv4 (should not happen with -4)
    }
  }
  const links = JSON.parse((await run('ip', ['-4', '-j', 'addr', 'show'])).stdout || '[]') as {
    addr_info?: { local?: string; prefixlen?: number }[];
  }[];
  for (const link of links) {
    for (const info of link.addr_info ?? []) {
      if (info.local && info.prefixlen !== undefined) {
        used.push(parseCidr(`${info.local}/${info.prefixlen}`));
      }
    }
  }
  return used;
}

/**
 * A /24 in 10.200.0.0-10.254.255.0 that overlaps nothing in `used` (routes, addresses, other
 * runs' subnets), starting from a random place so concurrent runs rarely pick the same one.
 */
export function pickSubnet(used: Cidr[], random: () => number = Math.random): Cidr {
  const first = 200 * 256;
  const count = 55 * 256;
  const start = Math.floor(random() * count);
  for (let i = 0; i < count; i++) {
    const n = first + ((start + i) % count);
    const candidate: Cidr = { base: (10 * 2 ** 24 + n * 256) >>> 0, prefixLength: 24 };
    if (!used.some((prefix) => overlaps(prefix, candidate))) return candidate;
  }
  throw new Error('no free /24 in 10.200.0.0/8..10.254.255.0/24 for test hosts');
}

// --- links and namespaces ----------------------------------------------------------------------

export async function linkNames(): Promise<string[]> {
  const links = JSON.parse((await run('ip', ['-j', 'link', 'show'])).stdout || '[]') as {
    ifname?: string;
  }[];
  return links.map((link) => link.ifname ?? '').filter(Boolean);
}

export async function linkExists(name: string): Promise<boolean> {
  return (await tryRun('ip', ['link', 'show', 'dev', name])).code === 0;
}

export async function netnsNames(): Promise<string[]> {
  const result = await run('ip', ['netns', 'list']);
  return result.stdout
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter(Boolean);
}

export async function createBridge(bridge: string, address: string, prefixLength: number) {
  await run('ip', ['link', 'add', bridge, 'type', 'bridge', 'forward_delay', '0']);
  await run('ip', ['addr', 'add', `${address}/${prefixLength}`, 'dev', bridge]);
  await run('ip', ['link', 'set', bridge, 'up']);
}

/**
 * A namespace joined to the bridge: the veth's namespace end is created in the namespace as
 * eth0 (interface names are per namespace), gets the address and a default route via the bridge.
 */
export async function createHostNetwork(options: {
  netns: string;
  veth: string;
  bridge: string;
  address: string;
  prefixLength: number;
  gateway: string;
}): Promise<void> {
  const { netns, veth, bridge } = options;
  await run('ip', ['netns', 'add', netns]);
  await run('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
  await run('ip', [
    '-n',
    netns,
    'addr',
    'add',
    `${options.address}/${options.prefixLength}`,
    'dev',
    'eth0',
  ]);
  await run('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
  await run('ip', ['-n', netns, 'link', 'set', 'eth0', 'up']);
  await run('ip', ['-n', netns, 'route', 'add', 'default', 'via', options.gateway]);
  await run('ip', ['link', 'set', veth, 'master', bridge]);
  await run('ip', ['link', 'set', veth, 'up']);
}

export async function setLink(name: string, state: 'up' | 'down'): Promise<void> {
  await run('ip', ['link', 'set', name, state]);
}

/** Deletes a link; one that does not exist (or vanishes meanwhile) is fine. */
export async function deleteLink(name: string): Promise<void> {
  const result = await tryRun('ip', ['link', 'delete', name]);
  if (result.code === 0 || !(await linkExists(name))) return;
  await run('ip', ['link', 'delete', name]);
}

export async function deleteNetns(netns: string): Promise<void> {
  if (!(await netnsNames()).includes(netns)) return;
  await run('ip', ['netns', 'delete', netns]);
}

// --- iptables and forwarding -------------------------------------------------------------------

/** `-w`: wait for the xtables lock, which every dockerd (in every namespace) also takes. */
export async function insertForwardRule(args: readonly string[]): Promise<void> {
  await run('iptables', ['-w', '-I', 'FORWARD', ...args]);
}

export async function forwardRuleExists(args: readonly string[]): Promise<boolean> {
  return (await tryRun('iptables', ['-w', '-C', 'FORWARD', ...args])).code === 0;
}

/** Deletes one copy of the rule, if there is one. */
export async function deleteForwardRule(args: readonly string[]): Promise<void> {
  if (!(await forwardRuleExists(args))) return;
  await run('iptables', ['-w', '-D', 'FORWARD', ...args]);
}

/** FORWARD rules as `iptables -S` prints them (`-A FORWARD -i x -o x -j ACCEPT`), split. */
export async function forwardRules(): Promise<string[][]> {
  const result = await run('iptables', ['-w', '-S', 'FORWARD']);
  return result.stdout
    .split('\n')
    .filter((line) => line.startsWith('-A FORWARD '))
    .map((line) => line.split(' ').slice(2));
}

const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';

/** Turns on IPv4 forwarding in the root namespace; returns true if it was off. */
export async function ensureIpForward(): Promise<boolean> {
  if ((await readFile(IP_FORWARD, 'utf8')).trim() === '1') return false;
  await writeFile(IP_FORWARD, '1\n');
  return true;
}
