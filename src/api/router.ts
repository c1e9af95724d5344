/**
 * A small router: METHOD + path pattern (`/nodes/:id/update`) → handler. Routes that change
 * cluster state are marked `write`: on a follower manager the server forwards them to the
 * leader instead of running them here.
 */
import { InvalidArgumentError } from '../errors.js';
import { errorResponse } from './errors.js';
import type { ApiRequest, ApiResponse } from './types.js';

export type Handler = (
  request: ApiRequest,
  params: Record<string, string>,
) => Promise<ApiResponse> | ApiResponse;

export interface Route {
  method: string;
  pattern: string;
  write?: boolean;
  handler: Handler;
}

interface CompiledRoute extends Route {
  parts: string[];
}

export interface Match {
  route: Route;
  params: Record<string, string>;
}

export class Router {
  private readonly routes: CompiledRoute[];

  constructor(routes: Route[]) {
    this.routes = routes.map((route) => ({ ...route, parts: route.pattern.split('/') }));
  }

  match(method: string, path: string): Match | undefined {
    const parts = path.replace(/\/+$/, '').split('/');
    for (const route of this.routes) {
      if (route.method !== method || route.parts.length !== parts.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      route.parts.forEach((part, i) => {
        const actual = parts[i] ?? '';
        if (part.startsWith(':')) {
          if (actual === '') ok = false;
          else params[part.slice(1)] = safeDecode(actual);
        } else if (part !== actual) {
          ok = false;
        }
      });
      if (ok) return { route, params };
    }
    return undefined;
  }

  async run(match: Match, request: ApiRequest): Promise<ApiResponse> {
    try {
      return await match.route.handler(request, match.params);
    } catch (error) {
      return errorResponse(error);
    }
  }
}

/** A malformed %-escape is the client's mistake (400), not ours. */
function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new InvalidArgumentError(`malformed path segment ${JSON.stringify(text)}`);
  }
}
