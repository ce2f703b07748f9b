import { get, type ComputeService, type Flavor, type Hypervisor } from '../api.js';
import { Empty, ErrorBox, UsageBar, formatGb, formatMb, formatTime, useLoad } from '../ui.js';

/** Nova dropped the hypervisors' capacity and usage figures from the API at 2.88 (placement has them): ask 2.87. */
const HYPERVISOR_VERSION = '2.87';

/** One hypervisor per vCenter cluster or KVM host, with vCPU, RAM and disk usage against capacity. */
export function HypervisorsPage() {
  const { data, error } = useLoad(() => get<{ hypervisors: Hypervisor[] }>('/compute/v2.1/os-hypervisors/detail', { computeVersion: HYPERVISOR_VERSION }));
  const list = [...(data?.hypervisors ?? [])].sort((a, b) => a.hypervisor_hostname.localeCompare(b.hypervisor_hostname));
  const sum = (f: (h: Hypervisor) => number) => list.reduce((n, h) => n + f(h), 0);
  return (
    <section>
      <h1>Hypervisors</h1>
      <ErrorBox error={error} />
      {list.length > 0 && (
        <div class="card charts" aria-label="Hypervisor summary">
          <h2>All hypervisors</h2>
          <UsageBar label="VCPUs" used={sum((h) => h.vcpus_used)} total={sum((h) => h.vcpus)} />
          <UsageBar label="RAM" used={sum((h) => h.memory_mb_used)} total={sum((h) => h.memory_mb)} format={formatMb} />
          <UsageBar label="Local disk" used={sum((h) => h.local_gb_used)} total={sum((h) => h.local_gb)} format={formatGb} />
        </div>
      )}
      {data !== undefined && list.length === 0 && <Empty>No hypervisors have reported yet.</Empty>}
      <div class="hv-grid">
        {list.map((h) => (
          <div class="card hv" key={String(h.id)} data-hypervisor={h.hypervisor_hostname}>
            <header>
              <h2>{h.hypervisor_hostname}</h2>
              <span class={`badge ${h.state === 'up' ? 'ok' : 'bad'}`}>{h.state}</span>
              {h.status !== 'enabled' && <span class="badge idle">{h.status}</span>}
            </header>
            <p class="muted small">
              <span data-field="type">{h.hypervisor_type}</span> · host {h.service?.host ?? '—'} · {h.running_vms} instance{h.running_vms === 1 ? '' : 's'}
            </p>
            <UsageBar label="VCPUs" used={h.vcpus_used} total={h.vcpus} />
            <UsageBar label="RAM" used={h.memory_mb_used} total={h.memory_mb} format={formatMb} />
            <UsageBar label="Local disk" used={h.local_gb_used} total={h.local_gb} format={formatGb} />
          </div>
        ))}
      </div>
    </section>
  );
}

export function FlavorsPage() {
  const { data, error } = useLoad(() => get<{ flavors: Flavor[] }>('/compute/v2.1/flavors/detail'));
  const list = [...(data?.flavors ?? [])].sort((a, b) => a.vcpus - b.vcpus || a.ram - b.ram || a.name.localeCompare(b.name));
  return (
    <section>
      <h1>Flavors</h1>
      <ErrorBox error={error} />
      <table class="grid" aria-label="Flavors">
        <thead>
          <tr>
            <th>Name</th>
            <th>VCPUs</th>
            <th>RAM</th>
            <th>Root disk</th>
            <th>Ephemeral</th>
            <th>Public</th>
            <th>ID</th>
          </tr>
        </thead>
        <tbody>
          {list.map((f) => (
            <tr key={f.id} data-name={f.name}>
              <td>{f.name}</td>
              <td>{f.vcpus}</td>
              <td>{formatMb(f.ram)}</td>
              <td>{f.disk} GB</td>
              <td>{f['OS-FLV-EXT-DATA:ephemeral'] ?? 0} GB</td>
              <td>{f['os-flavor-access:is_public'] === false ? 'No' : 'Yes'}</td>
              <td>
                <code>{f.id}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function ServicesPage() {
  const { data, error } = useLoad(() => get<{ services: ComputeService[] }>('/compute/v2.1/os-services'));
  const list = [...(data?.services ?? [])].sort((a, b) => a.binary.localeCompare(b.binary) || a.host.localeCompare(b.host));
  return (
    <section>
      <h1>Compute services</h1>
      <ErrorBox error={error} />
      <table class="grid" aria-label="Compute services">
        <thead>
          <tr>
            <th>Binary</th>
            <th>Host</th>
            <th>Zone</th>
            <th>Status</th>
            <th>State</th>
            <th>Last heartbeat</th>
          </tr>
        </thead>
        <tbody>
          {list.map((s) => (
            <tr key={String(s.id)} data-host={s.host} data-binary={s.binary}>
              <td>{s.binary}</td>
              <td>{s.host}</td>
              <td>{s.zone}</td>
              <td>
                {s.status}
                {s.disabled_reason ? ` (${s.disabled_reason})` : ''}
              </td>
              <td>
                <span class={`badge ${s.state === 'up' ? 'ok' : 'bad'}`}>{s.state}</span>
              </td>
              <td>{formatTime(s.updated_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
