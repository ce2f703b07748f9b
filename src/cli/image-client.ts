import { createReadStream } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Credentials as the openstack CLI takes them (OS_* variables). The password is never printed. */
export interface OsCredentials {
  readonly authUrl: string;
  readonly username: string;
  readonly password: string;
  readonly projectName: string;
  readonly userDomainName: string;
  readonly projectDomainName: string;
}

interface Catalog {
  token?: { catalog?: { type: string; endpoints: { interface: string; url: string }[] }[] };
}

/** A minimal Image API v2 client for `polyvisor image upload`: token, create, streamed upload. */
export class ImageApiClient {
  private constructor(
    readonly imageUrl: string,
    readonly token: string,
  ) {}

  static async login(c: OsCredentials, signal: AbortSignal): Promise<ImageApiClient> {
    const url = `${c.authUrl.replace(/\/+$/, '')}/auth/tokens`;
    const body = {
      auth: {
        identity: { methods: ['password'], password: { user: { name: c.username, domain: { name: c.userDomainName }, password: c.password } } },
        scope: { project: { name: c.projectName, domain: { name: c.projectDomainName } } },
      },
    };
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal });
    if (res.status !== 201) throw new Error(`authentication at ${url} failed: ${res.status} ${await faultMessage(res)}`);
    const token = res.headers.get('x-subject-token');
    const catalog = (await res.json()) as Catalog;
    const image = catalog.token?.catalog?.find((s) => s.type === 'image')?.endpoints.find((e) => e.interface === 'public');
    if (token === null || image === undefined) throw new Error(`the identity service at ${c.authUrl} returned no token or no image endpoint`);
    return new ImageApiClient(image.url.replace(/\/+$/, ''), token);
  }

  async createImage(body: Record<string, unknown>, signal: AbortSignal): Promise<Record<string, unknown>> {
    const res = await fetch(`${this.imageUrl}/v2/images`, { method: 'POST', headers: this.#headers('application/json'), body: JSON.stringify(body), signal });
    if (res.status !== 201) throw new Error(`image create failed: ${res.status} ${await faultMessage(res)}`);
    return (await res.json()) as Record<string, unknown>;
  }

  async showImage(id: string, signal: AbortSignal): Promise<Record<string, unknown>> {
    const res = await fetch(`${this.imageUrl}/v2/images/${id}`, { headers: this.#headers(), signal });
    if (res.status !== 200) throw new Error(`image show failed: ${res.status} ${await faultMessage(res)}`);
    return (await res.json()) as Record<string, unknown>;
  }

  async deleteImage(id: string, signal: AbortSignal): Promise<void> {
    await fetch(`${this.imageUrl}/v2/images/${id}`, { method: 'DELETE', headers: this.#headers(), signal });
  }

  /** Streams a file as the image's data; `onBytes` sees every chunk's length as it is sent. */
  async upload(id: string, file: string, size: number, onBytes: (n: number) => void, signal: AbortSignal): Promise<void> {
    const url = new URL(`${this.imageUrl}/v2/images/${id}/file`);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, { method: 'PUT', headers: { ...this.#headers('application/octet-stream'), 'content-length': String(size) }, signal });
    const response = new Promise<IncomingMessage>((resolve, reject) => {
      req.once('response', resolve);
      req.once('error', reject);
    });
    const counter = new Transform({
      transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
        onBytes(chunk.length);
        cb(null, chunk);
      },
    });
    // The server may answer (a refusal) before the body is complete: whichever comes first wins.
    const sent = pipeline(createReadStream(file), counter, req).catch(() => undefined);
    const res = await response;
    const text = await readAll(res);
    await sent;
    if (res.statusCode !== 204) throw new Error(`upload refused: ${res.statusCode ?? 0} ${messageOf(text)}`);
  }

  #headers(contentType?: string): Record<string, string> {
    return { 'x-auth-token': this.token, ...(contentType ? { 'content-type': contentType } : {}) };
  }
}

async function readAll(res: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of res) text += (chunk as Buffer).toString();
  return text;
}

async function faultMessage(res: Response): Promise<string> {
  return messageOf(await res.text());
}

/** The message of an OpenStack fault body in any of its shapes. */
function messageOf(text: string): string {
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    if (typeof body['message'] === 'string') return body['message'];
    for (const v of Object.values(body)) {
      if (v && typeof v === 'object' && typeof (v as Record<string, unknown>)['message'] === 'string') return String((v as Record<string, unknown>)['message']);
    }
  } catch {
    // not JSON: the text itself
  }
  return text.slice(0, 500);
}
