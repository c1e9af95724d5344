/**
 * The control API client the CLI uses: JSON over HTTP on the agent's unix socket. An error
 * status becomes an ApiError carrying the agent's message, so the CLI prints one line.
 */
import { request as httpRequest } from 'node:http';
import { SwarmtsError } from '../errors.js';
import { ApiError } from './errors.js';

export const DEFAULT_SOCKET = '/run/swarmts/swarmts.sock';

/** `--host`, else SWARMTS_HOST, else the default; accepts a path or unix:///path. */
export function resolveSocket(host: string | undefined, env = process.env): string {
  const value = host ?? env.SWARMTS_HOST ?? DEFAULT_SOCKET;
  if (value.startsWith('unix://')) return value.slice('unix://'.length);
  if (value.includes('://')) {
    throw new SwarmtsError('invalid_argument', `unsupported host ${value}: use unix:///path`);
  }
  return value;
}

export class ApiClient {
  constructor(
    readonly socketPath: string,
    private readonly timeoutMs = 60_000,
  ) {}

  get<T>(path: string, query?: Record<string, string | undefined>): Promise<T> {
    return this.request<T>('GET', path, query);
  }

  post<T>(path: string, body?: unknown, query?: Record<string, string | undefined>): Promise<T> {
    return this.request<T>('POST', path, query, body);
  }

  delete<T>(path: string, query?: Record<string, string | undefined>): Promise<T> {
    return this.request<T>('DELETE', path, query);
  }

  /**
   * A GET whose answer is a text stream (service logs): each chunk goes to `onText` as it
   * arrives; resolves when the agent ends the stream. No idle timeout: a followed log may be
   * quiet for hours. An error status rejects with the agent's message, as `request` does.
   */
  stream(
    path: string,
    query: Record<string, string | undefined>,
    onText: (text: string) => void,
  ): Promise<void> {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) search.set(key, value);
    }
    const url = search.size > 0 ? `${path}?${search}` : path;
    return new Promise<void>((resolve, reject) => {
      const req = httpRequest({ socketPath: this.socketPath, path: url, method: 'GET' }, (res) => {
        const status = res.statusCode ?? 500;
        res.setEncoding('utf8');
        res.on('error', reject);
        if (status < 400) {
          res.on('data', (text: string) => onText(text));
          res.on('end', () => resolve());
          return;
        }
        let body = '';
        res.on('data', (text: string) => {
          body += text;
        });
        res.on('end', () => {
          let message = body.trim() || `HTTP ${status}`;
          try {
            const parsed: unknown = JSON.parse(body);
            if (typeof parsed === 'object' && parsed !== null && 'message' in parsed) {
              message = String((parsed as { message: unknown }).message);
            }
          } catch {
            // Not JSON: the text is the message.
          }
          reject(new ApiError(status, message));
        });
      });
      req.on('error', (error: NodeJS.ErrnoException) => {
        reject(
          error.code === 'ENOENT' || error.code === 'ECONNREFUSED'
            ? new SwarmtsError(
                'unavailable',
                `cannot reach the swarmts agent at ${this.socketPath}. Is "swarmts agent" running?`,
              )
            : error,
        );
      });
      req.end();
    });
  }

  request<T>(
    method: string,
    path: string,
    query?: Record<string, string | undefined>,
    body?: unknown,
  ): Promise<T> {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) search.set(key, value);
    }
    const url = search.size > 0 ? `${path}?${search}` : path;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise<T>((resolve, reject) => {
      const req = httpRequest(
        {
          socketPath: this.socketPath,
          path: url,
          method,
          headers: payload
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
            : {},
          timeout: this.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 500;
            let parsed: unknown = text;
            if ((res.headers['content-type'] ?? '').includes('json') && text !== '') {
              try {
                parsed = JSON.parse(text);
              } catch {
                parsed = text;
              }
            }
            if (status >= 400) {
              const message =
                typeof parsed === 'object' && parsed !== null && 'message' in parsed
                  ? String((parsed as { message: unknown }).message)
                  : text.trim() || `HTTP ${status}`;
              reject(new ApiError(status, message));
              return;
            }
            resolve(parsed as T);
          });
        },
      );
      req.on('timeout', () =>
        req.destroy(new Error(`no answer from the agent in ${this.timeoutMs} ms`)),
      );
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') {
          reject(
            new SwarmtsError(
              'unavailable',
              `cannot reach the swarmts agent at ${this.socketPath}. Is "swarmts agent" running?`,
            ),
          );
        } else if (error.code === 'EACCES') {
          reject(
            new SwarmtsError(
              'unavailable',
              `permission denied on ${this.socketPath} (run as root)`,
            ),
          );
        } else {
          reject(error);
        }
      });
      if (payload) req.write(payload);
      req.end();
    });
  }
}
