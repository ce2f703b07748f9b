import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { get, type InstanceAction, type Server } from '../api.js';
import type { Session } from '../session.js';
import { ErrorBox, StatusBadge, errorText, formatTime } from '../ui.js';
import { ActionButtons, POWER_STATES } from './instances.js';

/**
 * One instance: its attributes, its fault (ERROR), and its action log with each action's
 * events (os-instance-actions; Nova shows events to admins only). Reloaded whenever the
 * live stream says the instance changed (`revision`).
 */
export function InstanceDetail(props: {
  id: string;
  server: Server | undefined;
  revision: number;
  flavorName: Map<string, string>;
  imageName: Map<string, string>;
  session: Session;
  busy: Set<string>;
  onAction: (s: Server, body: unknown) => void;
  onDelete: (s: Server) => void;
  confirm: ComponentChildren;
  error: string | null;
  onError: (e: string | null) => void;
}) {
  const [fetched, setFetched] = useState<Server | undefined>(undefined);
  const [gone, setGone] = useState<string | null>(null);
  const [actions, setActions] = useState<InstanceAction[]>([]);
  const server = props.server ?? fetched;

  useEffect(() => {
    let stale = false;
    if (props.server === undefined) {
      get<{ server: Server }>(`/compute/v2.1/servers/${props.id}`)
        .then((r) => !stale && setFetched(r.server))
        .catch((err: unknown) => !stale && setGone(errorText(err)));
    }
    get<{ instanceActions: InstanceAction[] }>(`/compute/v2.1/servers/${props.id}/os-instance-actions`)
      .then(async (r) => {
        const detailed = await Promise.all(
          r.instanceActions.map((a) =>
            get<{ instanceAction: InstanceAction }>(`/compute/v2.1/servers/${props.id}/os-instance-actions/${encodeURIComponent(a.request_id)}`)
              .then((d) => d.instanceAction)
              .catch(() => a),
          ),
        );
        if (!stale) setActions(detailed.sort((a, b) => b.start_time.localeCompare(a.start_time)));
      })
      .catch(() => undefined);
    return () => {
      stale = true;
    };
  }, [props.id, props.revision, props.server === undefined]);

  if (server === undefined) {
    return (
      <section>
        <a href="#/instances">← Instances</a>
        <ErrorBox error={gone ?? null} />
        {gone === null && <p class="muted">Loading…</p>}
      </section>
    );
  }
  const flavor = (server.flavor.id !== undefined ? props.flavorName.get(server.flavor.id) : undefined) ?? server.flavor.original_name ?? server.flavor.id ?? '—';
  const rows: [string, ComponentChildren][] = [
    ['ID', <code>{server.id}</code>],
    ['Status', <StatusBadge status={server.status} task={server['OS-EXT-STS:task_state']} />],
    ['Power state', POWER_STATES[server['OS-EXT-STS:power_state'] ?? 0] ?? String(server['OS-EXT-STS:power_state'])],
    ['Image', server.image === '' ? '—' : (props.imageName.get(server.image.id) ?? server.image.id)],
    ['Flavor', flavor],
    ['Availability zone', server['OS-EXT-AZ:availability_zone'] || '—'],
    ['Key pair', server.key_name ?? '—'],
    ['Created', formatTime(server.created)],
    ['Updated', formatTime(server.updated)],
  ];
  if (props.session.isAdmin) {
    rows.push(['Host', server['OS-EXT-SRV-ATTR:host'] ?? '—'], ['Hypervisor', server['OS-EXT-SRV-ATTR:hypervisor_hostname'] ?? '—'], ['Project', server.tenant_id]);
  }
  return (
    <section data-server-id={server.id}>
      <a href="#/instances">← Instances</a>
      <div class="page-head">
        <h1>{server.name}</h1>
      </div>
      <ErrorBox error={props.error} onClose={() => props.onError(null)} />
      <ActionButtons
        server={server}
        busy={props.busy.has(server.id)}
        onAction={(body) => props.onAction(server, body)}
        onDelete={() => props.onDelete(server)}
        onError={props.onError}
      />
      {server.fault && (
        <div class="error fault" role="alert" aria-label="Fault">
          <strong>Fault {server.fault.code}:</strong> {server.fault.message}
          {server.fault.details && <pre>{server.fault.details}</pre>}
        </div>
      )}
      <div class="card">
        <dl class="facts">
          {rows.map(([k, v]) => (
            <>
              <dt>{k}</dt>
              <dd>{v}</dd>
            </>
          ))}
        </dl>
      </div>
      <h2>Action log</h2>
      <table class="grid" aria-label="Action log">
        <thead>
          <tr>
            <th>Action</th>
            <th>Started</th>
            <th>Result</th>
            <th>Events</th>
          </tr>
        </thead>
        <tbody>
          {actions.map((a) => (
            <tr key={a.request_id} data-action-name={a.action}>
              <td>{a.action}</td>
              <td>{formatTime(a.start_time)}</td>
              <td>{a.message ?? 'Success'}</td>
              <td>
                {(a.events ?? []).map((e) => (
                  <div key={e.event + e.start_time} class="event">
                    <code>{e.event}</code> {e.result ?? 'running'} {e.finish_time ? `at ${formatTime(e.finish_time)}` : ''}
                    {e.traceback && <pre>{e.traceback}</pre>}
                  </div>
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {props.confirm}
    </section>
  );
}
