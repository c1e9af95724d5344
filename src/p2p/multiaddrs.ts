/** "host:port" of the first TCP multiaddr in `addrs`, or undefined. */
export function hostPortOf(addrs: readonly string[]): string | undefined {
  for (const address of addrs) {
    const match = /^\/(?:ip4|ip6|dns|dns4|dns6)\/([^/]+)\/tcp\/(\d+)/.exec(address);
    if (match) return `${match[1]}:${match[2]}`;
  }
  return undefined;
}
