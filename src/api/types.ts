/** The control API as the agent's parts see it: plain requests and responses, no sockets. */
export interface ApiRequest {
  method: string;
  /** Without the Docker API version prefix (/v1.41). */
  path: string;
  query: URLSearchParams;
  /** The parsed JSON body, undefined when there was none. */
  body: unknown;
}

export interface ApiResponse {
  status: number;
  /** JSON-encoded unless it is a string and `text` is set (/_ping answers plain text). */
  body?: unknown;
  text?: boolean;
  /** A stream (logs): written as it comes; the signal fires when the client leaves. */
  stream?: (signal: AbortSignal) => AsyncIterable<string | Uint8Array>;
  /** Extra headers (Docker's /_ping says the swarm status in one). */
  headers?: Record<string, string>;
  /** The stream's content type; plain text by default. */
  contentType?: string;
}
