/**
 * PROXY protocol v2 (haproxy.org/download/2.9/doc/proxy-protocol.txt, §2.2): the binary
 * header a backend reads first to learn the real client address, since through the mesh its
 * peer is this agent. Pure; one small buffer per connection.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { InvalidArgumentError } from '../errors.js';

/** "\r\n\r\n\0\r\nQUIT\n": the v2 signature. */
const SIGNATURE = Buffer.from([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
]);
/** Version 2, command PROXY. */
const VERSION_PROXY = 0x21;
const TCP_OVER_IPV4 = 0x11;
const TCP_OVER_IPV6 = 0x21;

export interface Endpoint {
  address: string;
  port: number;
}

/**
 * The header for a TCP connection from `source` to `destination`. Two IPv4 addresses (an
 * IPv4-mapped IPv6 address counts as IPv4, which is how a dual-stack listener reports IPv4
 * clients) give the 28-byte IPv4 form; otherwise the 52-byte IPv6 form, IPv4 written mapped.
 * Throws InvalidArgumentError for something that is not an IP address or a port.
 */
export function proxyV2Header(source: Endpoint, destination: Endpoint): Buffer {
  const src = addressBytes(source.address);
  const dst = addressBytes(destination.address);
  checkPort(source.port);
  checkPort(destination.port);
  const v4 = src.length === 4 && dst.length === 4;
  const addrLength = v4 ? 4 : 16;
  const header = Buffer.alloc(16 + 2 * addrLength + 4);
  SIGNATURE.copy(header, 0);
  header[12] = VERSION_PROXY;
  header[13] = v4 ? TCP_OVER_IPV4 : TCP_OVER_IPV6;
  header.writeUInt16BE(2 * addrLength + 4, 14);
  writeAddress(header, 16, src, addrLength);
  writeAddress(header, 16 + addrLength, dst, addrLength);
  header.writeUInt16BE(source.port, 16 + 2 * addrLength);
  header.writeUInt16BE(destination.port, 18 + 2 * addrLength);
  return header;
}

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError(`invalid port ${port}`);
  }
}

/** Writes 4 or 16 address bytes; an IPv4 address in an IPv6 slot is written ::ffff:a.b.c.d. */
function writeAddress(target: Buffer, offset: number, bytes: Uint8Array, width: number): void {
  if (bytes.length === width) {
    target.set(bytes, offset);
    return;
  }
  // Buffer.alloc zeroed the first ten bytes already.
  target[offset + 10] = 0xff;
  target[offset + 11] = 0xff;
  target.set(bytes, offset + 12);
}

/** 4 bytes for IPv4 and IPv4-mapped IPv6, else 16. */
function addressBytes(address: string): Uint8Array {
  if (isIPv4(address)) return ipv4Bytes(address);
  if (!isIPv6(address)) throw new InvalidArgumentError(`not an IP address: "${address}"`);
  const bytes = ipv6Bytes(address);
  const mapped =
    bytes[10] === 0xff && bytes[11] === 0xff && bytes.subarray(0, 10).every((b) => b === 0);
  return mapped ? bytes.subarray(12) : bytes;
}

function ipv4Bytes(address: string): Uint8Array {
  return Uint8Array.from(address.split('.'), Number);
}

/** Parses an address net.isIPv6 accepted: "::" shorthand, a dotted IPv4 tail, a zone id. */
function ipv6Bytes(address: string): Uint8Array {
  const text = address.split('%', 1)[0]!;
  const bytes = new Uint8Array(16);
  const [head, tail] = text.split('::') as [string, string | undefined];
  const headGroups = groups(head);
  const tailGroups = tail === undefined ? [] : groups(tail);
  const all = [
    ...headGroups,
    ...new Array(8 - headGroups.length - tailGroups.length).fill(0),
    ...tailGroups,
  ];
  all.forEach((group, i) => {
    bytes[2 * i] = group >> 8;
    bytes[2 * i + 1] = group & 0xff;
  });
  return bytes;
}

/** "a:b:1.2.3.4" → 16-bit groups, the dotted part as two. */
function groups(part: string): number[] {
  if (part === '') return [];
  const out: number[] = [];
  for (const piece of part.split(':')) {
    if (piece.includes('.')) {
      const v4 = ipv4Bytes(piece);
      out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    } else {
      out.push(Number.parseInt(piece, 16));
    }
  }
  return out;
}
