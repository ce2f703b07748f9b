import { getToken } from './api.js';

/** One instance's new state, as /dashboard/events pushes it (src/web/instance-feed.ts). */
export interface InstanceChange {
  id: string;
  project_id: string;
  name: string;
  status: string;
  vm_state: string;
  task_state: string | null;
  power_state: number;
  host: string | null;
  deleted: boolean;
  updated: string;
}

export interface LiveHandlers {
  /** The stream is (re)open: load the full list now, so nothing between the two is missed. */
  onReady(): void;
  onChanges(changes: InstanceChange[]): void;
  /** The token expired or was revoked. */
  onExpired(): void;
  onState?(connected: boolean): void;
}

/**
 * Reads the dashboard's Server-Sent Events stream with fetch() rather than EventSource,
 * because EventSource cannot send the X-Auth-Token header and the token must not go into
 * a URL. Reconnects after a dropped connection (1 s, then up to 10 s). Returns a stop function.
 */
export function openLiveStream(allProjects: boolean, handlers: LiveHandlers): () => void {
  const abort = new AbortController();
  let delayMs = 1000;
  const run = async (): Promise<void> => {
    while (!abort.signal.aborted) {
      const token = getToken();
      if (token === null) return;
      try {
        const res = await fetch(`/dashboard/events${allProjects ? '?all_projects=1' : ''}`, {
          headers: { 'X-Auth-Token': token, Accept: 'text/event-stream' },
          signal: abort.signal,
          credentials: 'omit',
          cache: 'no-store',
        });
        if (res.status === 401) {
          handlers.onExpired();
          return;
        }
        if (!res.ok || res.body === null) throw new Error(`event stream: ${res.status}`);
        handlers.onState?.(true);
        delayMs = 1000;
        const expired = await readEvents(res.body, handlers);
        if (expired) {
          handlers.onExpired();
          return;
        }
      } catch {
        if (abort.signal.aborted) return;
      }
      handlers.onState?.(false);
      await new Promise((r) => setTimeout(r, delayMs));
      delayMs = Math.min(delayMs * 2, 10_000);
    }
  };
  void run();
  return () => abort.abort();
}

/** Parses text/event-stream; resolves true when the server said the token expired. */
async function readEvents(body: ReadableStream<Uint8Array>, handlers: LiveHandlers): Promise<boolean> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return false;
    buffer += decoder.decode(value, { stream: true });
    let cut: number;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let event = 'message';
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      if (event === 'ready') handlers.onReady();
      else if (event === 'instances') handlers.onChanges((JSON.parse(data) as { changes: InstanceChange[] }).changes);
      else if (event === 'expired') return true;
    }
  }
}
