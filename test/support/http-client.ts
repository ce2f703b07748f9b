/** A minimal OpenStack HTTP client for end-to-end tests: real tokens from the real identity API. */
export interface ApiResponse<T = unknown> {
  readonly status: number;
  readonly body: T;
  readonly headers: Headers;
}

export class ApiClient {
  constructor(
    readonly base: string,
    readonly token: string,
  ) {}

  static async login(base: string, username: string, password: string, project: string): Promise<ApiClient> {
    const res = await fetch(`${base}/identity/v3/auth/tokens?nocatalog`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        auth: {
          identity: { methods: ['password'], password: { user: { name: username, domain: { id: 'default' }, password } } },
          scope: { project: { name: project, domain: { id: 'default' } } },
        },
      }),
    });
    const token = res.headers.get('x-subject-token');
    if (res.status !== 201 || token === null) throw new Error(`login as ${username} failed: ${res.status} ${await res.text()}`);
    return new ApiClient(base, token);
  }

  async request<T = unknown>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const init: RequestInit = { method, headers: { 'x-auth-token': this.token, ...headers } };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      init.headers = { 'content-type': 'application/json', ...init.headers };
    }
    const res = await fetch(`${this.base}${path}`, init);
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }
}
