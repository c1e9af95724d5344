/**
 * Real sockets on 127.0.0.1 for the routing mesh's integration tests: backends that say who
 * they are, clients that wait on socket events (never on timers), and one cleanup list so
 * every test closes what it opened.
 */
import dgram from 'node:dgram';
import { once } from 'node:events';
import net from 'node:net';
import type { MeshBackend, MeshTable } from '../../../src/ingress/index.js';

export const HOST = '127.0.0.1';

const cleanups: Array<() => Promise<void> | void> = [];

export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(fn);
}

/** Runs (last first) and forgets every registered cleanup; call it in afterEach. */
export async function cleanupAll(): Promise<void> {
  while (cleanups.length > 0) await cleanups.pop()!();
}

/** A port free right now: bind port 0, read it, release it. */
export async function freePort(protocol: 'tcp' | 'udp' = 'tcp'): Promise<number> {
  if (protocol === 'udp') {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, HOST, resolve));
    const { port } = socket.address();
    await new Promise<void>((resolve) => socket.close(resolve));
    return port;
  }
  const server = net.createServer();
  server.listen(0, HOST);
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface TcpBackend {
  name: string;
  port: number;
  /** Connections accepted so far. */
  accepted: number;
  /** Sockets currently open on the backend's side. */
  sockets: Set<net.Socket>;
  backend(nodeId: string): MeshBackend;
}

/**
 * A backend that greets each connection with "<name>\n" and then echoes what it reads,
 * ending its side when the client ends its own (half-close passes through).
 */
export async function tcpBackend(
  name: string,
  handler: (socket: net.Socket, backend: TcpBackend) => void = echo,
): Promise<TcpBackend> {
  const sockets = new Set<net.Socket>();
  const backend: TcpBackend = {
    name,
    port: 0,
    accepted: 0,
    sockets,
    backend: (nodeId) => ({ taskId: `task-${name}`, nodeId, addr: HOST, hostPort: backend.port }),
  };
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    backend.accepted++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    handler(socket, backend);
  });
  server.listen(0, HOST);
  await once(server, 'listening');
  backend.port = (server.address() as net.AddressInfo).port;
  onCleanup(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return backend;
}

function echo(socket: net.Socket, backend: TcpBackend): void {
  socket.write(`${backend.name}\n`);
  socket.pipe(socket);
}

/** A client connection, with everything it has received collected. */
export interface Client {
  socket: net.Socket;
  received: () => string;
  /** Resolves with the first line received (the backend's name). */
  greeting: () => Promise<string>;
  /** Resolves once the socket has closed, with whether it saw an error. */
  closed: Promise<{ error: NodeJS.ErrnoException | undefined }>;
  /** Resolves once `text` has been received in full. */
  waitFor: (text: string) => Promise<void>;
}

export async function connect(port: number): Promise<Client> {
  // Not allowHalfOpen: like most clients, it closes its side once the server has closed its own.
  const socket = net.connect({ host: HOST, port });
  const chunks: Buffer[] = [];
  let error: NodeJS.ErrnoException | undefined;
  socket.on('error', (e) => {
    error = e;
  });
  const closed = new Promise<{ error: NodeJS.ErrnoException | undefined }>((resolve) =>
    socket.once('close', () => resolve({ error })),
  );
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  onCleanup(() => {
    socket.destroy();
  });
  // Or closed: with no backend the mesh may reset it before 'connect' is even seen here.
  await new Promise((resolve) => socket.once('connect', resolve).once('close', resolve));
  const received = () => Buffer.concat(chunks).toString();
  const waitFor = (text: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        const got = received();
        if (got.includes(text)) resolve();
        else if (socket.readableEnded || socket.destroyed) {
          reject(new Error(`connection ended before "${text}"; got "${got}"`));
        } else return;
        socket.off('data', check).off('end', check).off('close', check);
      };
      // Registered after the collector above, so a chunk is counted before it is checked.
      socket.on('data', check).on('end', check).on('close', check);
      check();
    });
  const greeting = async () => {
    await waitFor('\n');
    return received().split('\n', 1)[0]!;
  };
  return { socket, received, greeting, closed, waitFor };
}

export function table(
  port: number,
  backends: MeshBackend[],
  extra: { protocol?: 'tcp' | 'udp'; proxyProtocol?: boolean; name?: string } = {},
): MeshTable {
  return [
    {
      serviceId: `svc-${extra.name ?? 'web'}`,
      name: extra.name ?? 'web',
      ports: [
        {
          protocol: extra.protocol ?? 'tcp',
          published: port,
          proxyProtocol: extra.proxyProtocol ?? false,
          backends,
        },
      ],
    },
  ];
}

export interface UdpBackend {
  name: string;
  port: number;
  /** Source ports datagrams came from (the mesh's session sockets). */
  peers: Set<number>;
  backend(nodeId: string): MeshBackend;
}

/** Answers each datagram with "<name>:<datagram>". */
export async function udpBackend(name: string): Promise<UdpBackend> {
  const socket = dgram.createSocket('udp4');
  const peers = new Set<number>();
  socket.on('message', (msg, rinfo) => {
    peers.add(rinfo.port);
    socket.send(`${name}:${msg.toString()}`, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, HOST, resolve));
  const port = socket.address().port;
  onCleanup(() => new Promise<void>((resolve) => socket.close(resolve)));
  return {
    name,
    port,
    peers,
    backend: (nodeId) => ({ taskId: `task-${name}`, nodeId, addr: HOST, hostPort: port }),
  };
}

export interface UdpClient {
  send: (text: string) => void;
  /** Sends `text` and resolves with the next datagram received. */
  ask: (text: string) => Promise<string>;
}

export async function udpClient(port: number): Promise<UdpClient> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, HOST, resolve));
  onCleanup(() => new Promise<void>((resolve) => socket.close(resolve)));
  return {
    send: (text) => socket.send(text, port, HOST),
    ask: async (text) => {
      const reply = once(socket, 'message');
      socket.send(text, port, HOST);
      const [msg] = (await reply) as [Buffer];
      return msg.toString();
    },
  };
}
