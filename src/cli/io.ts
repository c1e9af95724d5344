/** Where a command writes, and what it reads from its environment; tests pass their own. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  /**
   * All of standard input, for `secret create NAME -` and the like. Optional so that an io
   * which has no input (most tests) need not provide one; commands then refuse `-`.
   */
  readStdin?: () => Promise<Uint8Array>;
}

export function processIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    readStdin: () => readAll(process.stdin),
  };
}

/** Every byte of a stream, until its end. */
export async function readAll(stream: AsyncIterable<Uint8Array | string>): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}
