/**
 * The dashboard's only way to the cloud: the OpenStack APIs of the origin that served the
 * page (/identity/v3, /compute/v2.1, /image/v2). The token travels in X-Auth-Token, never
 * in a URL; a 401 ends the session (the page goes back to the login form).
 */

/** An API's refusal, with the message the API gave (shown to the user as it is). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

let currentToken: string | null = null;
let onUnauthorized: (() => void) | null = null;

export function setToken(token: string | null): void {
  currentToken = token;
}

export function getToken(): string | null {
  return currentToken;
}

/** Called once when a request comes back 401 (expired or revoked token). */
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

/**
 * The Compute microversion the pages are written against (remote-consoles needs 2.6; from
 * 2.37 a create names its networks). Pinned, as API clients should be: 'latest' would change
 * the pages' requests and responses whenever the API gains a version.
 */
const COMPUTE_VERSION = 'compute 2.96';

export interface RequestOptions {
  readonly method?: string;
  readonly body?: unknown;
  readonly contentType?: string;
  /** Send this token instead of the session's (logging in, switching project). */
  readonly token?: string | null;
  /** Do not treat 401 as the end of the session (wrong password at login). */
  readonly allow401?: boolean;
  /** Another Compute microversion for this request (e.g. '2.87': hypervisor usage left the API at 2.88). */
  readonly computeVersion?: string;
}

export async function request<T>(path: string, options: RequestOptions = {}): Promise<{ body: T; headers: Headers; status: number }> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const token = options.token === undefined ? currentToken : options.token;
  if (token !== null) headers['X-Auth-Token'] = token;
  if (path.startsWith('/compute/')) headers['OpenStack-API-Version'] = options.computeVersion === undefined ? COMPUTE_VERSION : `compute ${options.computeVersion}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['Content-Type'] = options.contentType ?? 'application/json';
    body = JSON.stringify(options.body);
  }
  const res = await fetch(path, { method: options.method ?? 'GET', headers, ...(body === undefined ? {} : { body }), credentials: 'omit', cache: 'no-store' });
  const text = await res.text();
  let parsed: unknown = undefined;
  if (text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  if (!res.ok) {
    if (res.status === 401 && !options.allow401 && token !== null) onUnauthorized?.();
    throw new ApiError(res.status, faultMessage(parsed, res.status, res.statusText));
  }
  return { body: parsed as T, headers: res.headers, status: res.status };
}

export async function get<T>(path: string, options: Pick<RequestOptions, 'computeVersion'> = {}): Promise<T> {
  return (await request<T>(path, options)).body;
}

export async function post<T>(path: string, body: unknown): Promise<T> {
  return (await request<T>(path, { method: 'POST', body })).body;
}

export async function del(path: string): Promise<void> {
  await request(path, { method: 'DELETE' });
}

/**
 * The message of an OpenStack fault body, whichever family answered:
 * compute `{"badRequest": {"message"}}`, identity `{"error": {"message"}}`, image `{"message"}`.
 */
export function faultMessage(body: unknown, status: number, statusText: string): string {
  if (typeof body === 'object' && body !== null) {
    const o = body as Record<string, unknown>;
    if (typeof o['message'] === 'string') return o['message'];
    for (const v of Object.values(o)) {
      if (typeof v === 'object' && v !== null && typeof (v as Record<string, unknown>)['message'] === 'string') {
        return (v as Record<string, unknown>)['message'] as string;
      }
    }
  }
  if (typeof body === 'string' && body.trim() !== '') return body.trim().slice(0, 300);
  return `${status} ${statusText}`;
}

/** Uploads image data with progress (XHR: fetch has no upload progress). */
export function uploadImageData(imageId: string, file: Blob, onProgress: (loaded: number, total: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', `/image/v2/images/${encodeURIComponent(imageId)}/file`);
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    if (currentToken !== null) xhr.setRequestHeader('X-Auth-Token', currentToken);
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(file.size, file.size);
        resolve();
        return;
      }
      let parsed: unknown = xhr.responseText;
      try {
        parsed = JSON.parse(xhr.responseText);
      } catch {
        // not JSON: keep the text
      }
      if (xhr.status === 401) onUnauthorized?.();
      reject(new ApiError(xhr.status, faultMessage(parsed, xhr.status, xhr.statusText)));
    };
    xhr.onerror = () => reject(new ApiError(0, 'The upload was interrupted (network error).'));
    xhr.send(file);
  });
}

// --- API shapes (only what the dashboard reads) ---

export interface Server {
  id: string;
  name: string;
  status: string;
  tenant_id: string;
  created: string;
  updated: string;
  image: '' | { id: string };
  flavor: { id?: string; original_name?: string; vcpus?: number; ram?: number; disk?: number };
  key_name: string | null;
  'OS-EXT-AZ:availability_zone'?: string;
  'OS-EXT-STS:vm_state'?: string;
  'OS-EXT-STS:task_state'?: string | null;
  'OS-EXT-STS:power_state'?: number;
  'OS-EXT-SRV-ATTR:host'?: string | null;
  'OS-EXT-SRV-ATTR:hypervisor_hostname'?: string | null;
  fault?: { code: number; message: string; details?: string; created: string };
}

export interface Image {
  id: string;
  name: string | null;
  status: string;
  visibility: string;
  owner: string | null;
  size: number | null;
  virtual_size: number | null;
  disk_format: string | null;
  container_format: string | null;
  checksum: string | null;
  created_at: string;
  protected: boolean;
  [property: string]: unknown;
}

export interface Flavor {
  id: string;
  name: string;
  vcpus: number;
  ram: number;
  disk: number;
  'OS-FLV-EXT-DATA:ephemeral'?: number;
  'os-flavor-access:is_public'?: boolean;
  swap?: number | string;
}

export interface Hypervisor {
  id: number | string;
  hypervisor_hostname: string;
  hypervisor_type: string;
  state: string;
  status: string;
  vcpus: number;
  vcpus_used: number;
  memory_mb: number;
  memory_mb_used: number;
  local_gb: number;
  local_gb_used: number;
  running_vms: number;
  host_ip?: string;
  service?: { host: string };
}

export interface ComputeService {
  id: number | string;
  binary: string;
  host: string;
  zone: string;
  status: string;
  state: string;
  updated_at: string | null;
  disabled_reason: string | null;
}

export interface InstanceAction {
  action: string;
  request_id: string;
  start_time: string;
  message: string | null;
  user_id: string;
  events?: { event: string; start_time: string; finish_time: string | null; result: string | null; traceback: string | null }[];
}
