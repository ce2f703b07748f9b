import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { del, get, post, type Flavor, type Image, type Server } from '../api.js';
import { openLiveStream, type InstanceChange } from '../live.js';
import type { Session } from '../session.js';
import { Empty, ErrorBox, Modal, StatusBadge, errorText, useLoad } from '../ui.js';
import { InstanceDetail } from './instance-detail.js';
import { LaunchForm } from './launch.js';

export const POWER_STATES: Record<number, string> = { 0: 'No state', 1: 'Running', 3: 'Paused', 4: 'Shut down', 6: 'Crashed', 7: 'Suspended' };

/** An action of the Actions column: the body POSTed to /servers/{id}/action and when it is allowed. */
interface ActionDef {
  readonly key: string;
  readonly label: string;
  readonly body: unknown;
  readonly allowed: (status: string) => boolean;
}

/** Which action fits which status: Nova's check_instance_state rules, seen through the API status. */
export const ACTIONS: readonly ActionDef[] = [
  { key: 'start', label: 'Start', body: { 'os-start': null }, allowed: (s) => s === 'SHUTOFF' },
  { key: 'stop', label: 'Stop', body: { 'os-stop': null }, allowed: (s) => s === 'ACTIVE' || s === 'ERROR' },
  { key: 'reboot', label: 'Soft reboot', body: { reboot: { type: 'SOFT' } }, allowed: (s) => s === 'ACTIVE' },
  { key: 'hard-reboot', label: 'Hard reboot', body: { reboot: { type: 'HARD' } }, allowed: (s) => ['ACTIVE', 'SHUTOFF', 'PAUSED', 'SUSPENDED', 'ERROR'].includes(s) },
  { key: 'suspend', label: 'Suspend', body: { suspend: null }, allowed: (s) => s === 'ACTIVE' },
  { key: 'resume', label: 'Resume', body: { resume: null }, allowed: (s) => s === 'SUSPENDED' },
  { key: 'pause', label: 'Pause', body: { pause: null }, allowed: (s) => s === 'ACTIVE' },
  { key: 'unpause', label: 'Unpause', body: { unpause: null }, allowed: (s) => s === 'PAUSED' },
  // Only reachable with [DEFAULT] reclaim_instance_interval > 0 (soft delete).
  { key: 'restore', label: 'Restore', body: { restore: null }, allowed: (s) => s === 'SOFT_DELETED' },
];

/** An action may start only when no other task is running (hard reboot aside, as in Nova). */
export function actionAllowed(a: ActionDef, server: Server): boolean {
  const task = server['OS-EXT-STS:task_state'] ?? null;
  if (task !== null && a.key !== 'hard-reboot') return false;
  if (task === 'deleting') return false;
  return a.allowed(server.status);
}

/** Opens the console URL that POST /servers/{id}/remote-consoles gives, in a new tab. */
export async function openConsole(serverId: string): Promise<void> {
  // Opened at the click (a tab opened after an await would be blocked as a pop-up), then pointed at the URL.
  const tab = window.open('about:blank', '_blank');
  try {
    const r = await post<{ remote_console: { url: string } }>(`/compute/v2.1/servers/${serverId}/remote-consoles`, { remote_console: { protocol: 'vnc', type: 'novnc' } });
    if (tab === null) window.location.assign(r.remote_console.url);
    else {
      tab.opener = null;
      tab.location.href = r.remote_console.url;
    }
  } catch (err) {
    tab?.close();
    throw err;
  }
}

/**
 * Instances of the project (admins: optionally of every project), kept live by the event
 * stream: each pushed change redraws its row at once, then the server is read again for
 * the details a change does not carry (host, fault). The page never reloads itself.
 */
export function InstancesPage(props: { session: Session; selected: string | null }) {
  const { session } = props;
  const [all, setAll] = useState(false);
  const [servers, setServers] = useState<Map<string, Server>>(new Map());
  const [error, setError] = useState<string | null>(null);
  const [live, setLive] = useState(false);
  const [launching, setLaunching] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState<Server | null>(null);
  const [busy, setBusy] = useState<Set<string>>(new Set());
  const [revision, setRevision] = useState(0);
  const refetchTimers = useRef(new Map<string, number>());

  const flavors = useLoad(() => get<{ flavors: Flavor[] }>('/compute/v2.1/flavors/detail'), [session.projectId]);
  const images = useLoad(() => get<{ images: Image[] }>('/image/v2/images?limit=1000'), [session.projectId]);
  const flavorName = useMemo(() => new Map((flavors.data?.flavors ?? []).map((f) => [f.id, f.name])), [flavors.data]);
  const imageName = useMemo(() => new Map((images.data?.images ?? []).map((i) => [i.id, i.name ?? i.id])), [images.data]);

  const loadList = useCallback(async () => {
    try {
      const r = await get<{ servers: Server[] }>(`/compute/v2.1/servers/detail${all ? '?all_tenants=1' : ''}`);
      setServers(new Map(r.servers.map((s) => [s.id, s])));
      setError(null);
    } catch (err) {
      setError(errorText(err));
    }
  }, [all, session.projectId]);

  const refetch = useCallback((id: string) => {
    const timers = refetchTimers.current;
    window.clearTimeout(timers.get(id));
    timers.set(
      id,
      window.setTimeout(() => {
        timers.delete(id);
        get<{ server: Server }>(`/compute/v2.1/servers/${id}`)
          .then((r) => {
            setServers((m) => new Map(m).set(id, r.server));
            setRevision((n) => n + 1);
          })
          .catch(() => {
            // Gone meanwhile (deleted): the change that said so removes it.
          });
      }, 150),
    );
  }, []);

  useEffect(() => {
    const apply = (changes: InstanceChange[]) => {
      setServers((m) => {
        const next = new Map(m);
        for (const c of changes) {
          if (c.deleted) {
            next.delete(c.id);
            continue;
          }
          const old = next.get(c.id);
          if (old !== undefined) {
            next.set(c.id, {
              ...old,
              status: c.status,
              updated: c.updated,
              'OS-EXT-STS:vm_state': c.vm_state,
              'OS-EXT-STS:task_state': c.task_state,
              'OS-EXT-STS:power_state': c.power_state,
              'OS-EXT-SRV-ATTR:host': c.host,
            });
          }
        }
        return next;
      });
      for (const c of changes) if (!c.deleted) refetch(c.id);
      setRevision((n) => n + 1);
    };
    const stop = openLiveStream(all, {
      onReady: () => void loadList(),
      onChanges: apply,
      onExpired: () => window.dispatchEvent(new Event('polyvisor:expired')),
      onState: setLive,
    });
    return () => {
      stop();
      setLive(false);
    };
  }, [all, loadList, refetch]);

  const act = async (s: Server, body: unknown) => {
    setBusy((b) => new Set(b).add(s.id));
    setError(null);
    try {
      await post(`/compute/v2.1/servers/${s.id}/action`, body);
    } catch (err) {
      setError(`${s.name}: ${errorText(err)}`);
    } finally {
      setBusy((b) => {
        const n = new Set(b);
        n.delete(s.id);
        return n;
      });
    }
  };
  const remove = async (s: Server) => {
    setConfirmDelete(null);
    try {
      await del(`/compute/v2.1/servers/${s.id}`);
      // From the instance's own page, back to the list, where it is seen going away.
      if (props.selected !== null) window.location.hash = '#/instances';
    } catch (err) {
      setError(`${s.name}: ${errorText(err)}`);
    }
  };

  const list = [...servers.values()].sort((a, b) => b.created.localeCompare(a.created) || a.name.localeCompare(b.name));
  const selected = props.selected === null ? undefined : servers.get(props.selected);

  if (props.selected !== null) {
    return (
      <InstanceDetail
        id={props.selected}
        server={selected}
        revision={revision}
        flavorName={flavorName}
        imageName={imageName}
        session={session}
        onAction={(s, body) => void act(s, body)}
        onDelete={(s) => setConfirmDelete(s)}
        busy={busy}
        confirm={confirmDelete && <ConfirmDelete server={confirmDelete} onCancel={() => setConfirmDelete(null)} onConfirm={(s) => void remove(s)} />}
        error={error}
        onError={setError}
      />
    );
  }

  return (
    <section>
      <div class="page-head">
        <h1>Instances</h1>
        <span class={`live ${live ? 'on' : 'off'}`} title="Status changes are pushed by the server" data-live={live ? 'on' : 'off'}>
          {live ? '● live' : '○ connecting'}
        </span>
        <div class="spacer" />
        {session.isAdmin && (
          <label class="inline">
            <input type="checkbox" checked={all} onChange={(e) => setAll(e.currentTarget.checked)} /> All projects
          </label>
        )}
        <button class="primary" onClick={() => setLaunching(true)}>
          Launch instance
        </button>
      </div>
      <ErrorBox error={error} onClose={() => setError(null)} />
      {list.length === 0 ? (
        <Empty>No instances.</Empty>
      ) : (
        <table class="grid instances" aria-label="Instances">
          <thead>
            <tr>
              <th>Name</th>
              <th>Image</th>
              <th>Flavor</th>
              <th>Zone</th>
              {session.isAdmin && <th>Host</th>}
              <th>Status</th>
              <th>Power</th>
              <th>Actions</th>
            </tr>
          </thead>
          <tbody>
            {list.map((s) => (
              <tr key={s.id} data-server-id={s.id} data-name={s.name}>
                <td class="nowrap">
                  <a href={`#/instances/${s.id}`}>{s.name}</a>
                  {all && <div class="muted small">{s.tenant_id}</div>}
                </td>
                <td>{s.image === '' ? '—' : (imageName.get(s.image.id) ?? s.image.id.slice(0, 8))}</td>
                <td>{(s.flavor.id !== undefined ? flavorName.get(s.flavor.id) : undefined) ?? s.flavor.original_name ?? s.flavor.id ?? '—'}</td>
                <td data-field="zone">{s['OS-EXT-AZ:availability_zone'] || '—'}</td>
                {session.isAdmin && <td>{s['OS-EXT-SRV-ATTR:host'] ?? '—'}</td>}
                <td class="status-cell">
                  <StatusBadge status={s.status} task={s['OS-EXT-STS:task_state']} />
                </td>
                <td>{POWER_STATES[s['OS-EXT-STS:power_state'] ?? 0] ?? s['OS-EXT-STS:power_state']}</td>
                <td>
                  <ActionButtons server={s} busy={busy.has(s.id)} onAction={(body) => void act(s, body)} onDelete={() => setConfirmDelete(s)} onError={setError} compact />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {launching && (
        <Modal title="Launch instance" onClose={() => setLaunching(false)}>
          <LaunchForm
            flavors={flavors.data?.flavors ?? []}
            images={(images.data?.images ?? []).filter((i) => i.status === 'active')}
            onLaunched={() => {
              setLaunching(false);
              void loadList();
            }}
          />
        </Modal>
      )}
      {confirmDelete && <ConfirmDelete server={confirmDelete} onCancel={() => setConfirmDelete(null)} onConfirm={(s) => void remove(s)} />}
    </section>
  );
}

export function ActionButtons(props: { server: Server; busy: boolean; onAction: (body: unknown) => void; onDelete: () => void; onError: (e: string) => void; compact?: boolean }) {
  const s = props.server;
  const deleting = s['OS-EXT-STS:task_state'] === 'deleting';
  return (
    <div class={`actions ${props.compact ? 'compact' : ''}`}>
      {ACTIONS.map((a) => (
        <button key={a.key} data-action={a.key} disabled={props.busy || !actionAllowed(a, s)} onClick={() => props.onAction(a.body)}>
          {a.label}
        </button>
      ))}
      <button data-action="console" disabled={s.status !== 'ACTIVE'} onClick={() => void openConsole(s.id).catch((err: unknown) => props.onError(`${s.name}: ${errorText(err)}`))}>
        Console
      </button>
      <button data-action="delete" class="danger" disabled={props.busy || deleting} onClick={props.onDelete}>
        Delete
      </button>
    </div>
  );
}

function ConfirmDelete(props: { server: Server; onCancel: () => void; onConfirm: (s: Server) => void }) {
  return (
    <Modal title="Delete instance" onClose={props.onCancel}>
      <p>
        Delete <strong>{props.server.name}</strong>? Its disk and everything on it are destroyed; this cannot be undone.
      </p>
      <div class="form-actions">
        <button onClick={props.onCancel}>Cancel</button>
        <button class="danger" data-confirm="delete" onClick={() => props.onConfirm(props.server)}>
          Delete instance
        </button>
      </div>
    </Modal>
  );
}
