import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';

/**
 * A plain-HTTP proxy in front of vcsim that can rewrite one SOAP method's response:
 * vcsim grants every privilege, so the privilege check is exercised by making the real
 * HasPrivilegeOnEntities answer say "not granted" for chosen privileges on the wire.
 */
export async function startRewritingProxy(target: string, caFile: string | undefined, rewrite: (method: string, body: string) => string): Promise<{ url: string; close(): Promise<void> }> {
  const upstream = new URL(target);
  const ca = caFile === undefined ? undefined : readFileSync(caFile);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const method = /<soapenv:Body>\s*<(?:\w+:)?(\w+)/.exec(body.toString('utf8'))?.[1] ?? /<Body[^>]*>\s*<(?:\w+:)?(\w+)/.exec(body.toString('utf8'))?.[1] ?? '';
      const send = upstream.protocol === 'https:' ? https.request : http.request;
      const up = send({
        host: upstream.hostname, port: upstream.port, path: req.url, method: req.method,
        headers: { ...req.headers, host: upstream.host, 'content-length': body.length },
        ...(ca === undefined ? {} : { ca }),
      }, (ur) => {
        const out: Buffer[] = [];
        ur.on('data', (c: Buffer) => out.push(c));
        ur.on('end', () => {
          const text = rewrite(method, Buffer.concat(out).toString('utf8'));
          const headers = { ...ur.headers, 'content-length': String(Buffer.byteLength(text)) };
          delete headers['transfer-encoding'];
          res.writeHead(ur.statusCode ?? 502, headers);
          res.end(text);
        });
      });
      up.on('error', () => res.destroy());
      up.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/sdk`,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
