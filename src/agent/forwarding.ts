/**
 * Control API writes sent to a follower manager run on the leader: the follower passes the
 * request over /swarmts/control/1 and relays the answer, so every rule that needs the
 * leader's view (quorum, reachability) is checked in one place. Only managers may forward.
 */
import { peerIdFromString } from '@libp2p/peer-id';
import { z } from 'zod';
import { NoLeaderError } from '../api/errors.js';
import type { ApiRequest, ApiResponse } from '../api/types.js';
import { oneLineMessage, SwarmtsError } from '../errors.js';
import type { Logger } from '../log.js';
import { call, PeerUnreachableError, serveCalls } from '../p2p/channel.js';
import type { Host } from '../p2p/host.js';
import { CONTROL_PROTOCOL } from '../p2p/protocols.js';

const forwardedRequest = z.object({
  method: z.string().max(16),
  path: z.string().max(4096),
  query: z.string().max(16384),
  body: z.unknown(),
});

const forwardedResponse = z.object({
  status: z.number().int(),
  body: z.unknown(),
  text: z.boolean().optional(),
});

const FORWARD_TIMEOUT_MS = 60_000;

/**
 * Runs `request` on the leader. Throws PeerUnreachableError when the leader could not even be
 * reached (nothing was sent: the caller may try the next leader).
 */
export async function forwardToLeader(
  host: Host,
  leaderId: string,
  request: ApiRequest,
): Promise<ApiResponse> {
  const { response } = await call(
    host,
    peerIdFromString(leaderId),
    CONTROL_PROTOCOL,
    {
      method: request.method,
      path: request.path,
      query: request.query.toString(),
      body: request.body ?? null,
    },
    AbortSignal.timeout(FORWARD_TIMEOUT_MS),
  );
  const parsed = forwardedResponse.parse(response);
  return {
    status: parsed.status,
    ...(parsed.body === null || parsed.body === undefined ? {} : { body: parsed.body }),
    ...(parsed.text ? { text: true } : {}),
  };
}

export interface LeaderView {
  isLeader(): boolean;
  leaderId(): string | null;
  /** Resolves once this manager has applied what the leader committed so far. */
  catchUp(): Promise<void>;
}

/**
 * Forwards to whoever leads, riding out an election: while there is no leader, or the one
 * we know cannot be reached (its link was cut), it waits for the next leader for up to
 * `waitMs`, then runs the request there — or here, if this manager won.
 */
export async function runOnLeader(
  host: Host,
  view: LeaderView,
  request: ApiRequest,
  runHere: (request: ApiRequest) => Promise<ApiResponse>,
  waitMs = 10_000,
): Promise<ApiResponse> {
  const deadline = Date.now() + waitMs;
  let unreachable: string | undefined;
  for (;;) {
    if (view.isLeader()) return runHere(request);
    const leader = view.leaderId();
    if (leader && leader !== unreachable) {
      try {
        const response = await forwardToLeader(host, leader, request);
        // Read-your-writes: the caller's next read here must see what the leader just did.
        if (response.status < 300) await view.catchUp().catch(() => {});
        return response;
      } catch (error) {
        if (!(error instanceof PeerUnreachableError)) {
          throw new SwarmtsError(
            'unavailable',
            `the leader did not answer; the change may or may not have been made (${oneLineMessage(error)}): check, then retry`,
            { cause: error },
          );
        }
        unreachable = leader;
      }
    }
    if (Date.now() > deadline) throw new NoLeaderError();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function serveForwardedRequests(
  host: Host,
  isManager: (peer: string) => boolean,
  handle: (request: ApiRequest) => Promise<ApiResponse>,
  logger: Logger,
): Promise<void> {
  await serveCalls(
    host,
    CONTROL_PROTOCOL,
    async (raw, peer) => {
      if (!isManager(peer)) return { status: 403, body: { message: 'only managers may forward' } };
      const parsed = forwardedRequest.safeParse(raw);
      if (!parsed.success) return { status: 400, body: { message: 'malformed forwarded request' } };
      const { method, path, query, body } = parsed.data;
      const response = await handle({
        method,
        path,
        query: new URLSearchParams(query),
        body: body ?? undefined,
      });
      return { status: response.status, body: response.body ?? null, text: response.text ?? false };
    },
    logger,
    // Twice the control API's body limit: a request it accepts is always forwardable.
    { maxFrameBytes: 4 * 1024 * 1024 },
  );
}
