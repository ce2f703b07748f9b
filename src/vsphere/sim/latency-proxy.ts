import net from 'node:net';

export interface LatencyProxy {
  readonly port: number;
  /** Connections accepted so far. */
  readonly connections: () => number;
  close(): Promise<void>;
}

/**
 * A TCP proxy that adds `rttMs` of round-trip latency (half each way) to everything it
 * forwards, so round trips to a remote vCenter can be measured on one machine. Chunks
 * keep their order; delay is added, bandwidth is not limited.
 */
export async function startLatencyProxy(target: { host: string; port: number }, rttMs: number): Promise<LatencyProxy> {
  const oneWay = rttMs / 2;
  const sockets = new Set<net.Socket>();
  let count = 0;
  const forward = (from: net.Socket, to: net.Socket): void => {
    from.on('data', (chunk: Buffer) => {
      if (oneWay <= 0) {
        to.write(chunk);
        return;
      }
      // Equal delays fire in insertion order, so chunks stay in order.
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
      }, oneWay);
    });
    from.on('end', () => setTimeout(() => to.end(), oneWay));
    from.on('error', () => to.destroy());
    from.on('close', () => setTimeout(() => to.destroy(), oneWay));
  };
  const server = net.createServer((client) => {
    count++;
    const upstream = net.connect(target.port, target.host);
    sockets.add(client).add(upstream);
    client.on('close', () => sockets.delete(client));
    upstream.on('close', () => sockets.delete(upstream));
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    forward(client, upstream);
    forward(upstream, client);
  });
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(0, '127.0.0.1', () => res());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    port,
    connections: () => count,
    close: () =>
      new Promise<void>((res) => {
        for (const s of sockets) s.destroy();
        server.close(() => res());
      }),
  };
}
