import { useState } from 'preact/hooks';
import { get, post, type Flavor, type Image } from '../api.js';
import { ErrorBox, errorText, formatMb, useLoad } from '../ui.js';

interface Zone {
  zoneName: string;
  zoneState: { available: boolean };
}

/** POST /servers with name, image, flavor, zone, key pair and count (min_count = max_count). */
export function LaunchForm(props: { flavors: Flavor[]; images: Image[]; onLaunched: () => void }) {
  const zones = useLoad(() => get<{ availabilityZoneInfo: Zone[] }>('/compute/v2.1/os-availability-zone'));
  const keypairs = useLoad(() => get<{ keypairs: { keypair: { name: string } }[] }>('/compute/v2.1/os-keypairs'));
  const flavors = [...props.flavors].sort((a, b) => a.vcpus - b.vcpus || a.ram - b.ram);
  const [name, setName] = useState('');
  const [image, setImage] = useState('');
  const [flavor, setFlavor] = useState('');
  const [zone, setZone] = useState('');
  const [key, setKey] = useState('');
  const [count, setCount] = useState('1');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    const n = Number(count);
    if (!Number.isInteger(n) || n < 1) {
      setError('Count must be a whole number of at least 1.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await post('/compute/v2.1/servers', {
        server: {
          name: name.trim(),
          imageRef: image,
          flavorRef: flavor,
          // No networking service: the hypervisor's configured network ('auto'), required from 2.37.
          networks: 'auto',
          ...(zone === '' ? {} : { availability_zone: zone }),
          ...(key === '' ? {} : { key_name: key }),
          min_count: n,
          max_count: n,
        },
      });
      props.onLaunched();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="form" onSubmit={(e) => void submit(e)} aria-label="Launch instance">
      <ErrorBox error={error} />
      <label>
        Instance name
        <input name="name" value={name} onInput={(e) => setName(e.currentTarget.value)} required />
      </label>
      <label>
        Image
        <select name="image" value={image} onChange={(e) => setImage(e.currentTarget.value)} required>
          <option value="">Select an image</option>
          {props.images.map((i) => (
            <option key={i.id} value={i.id}>
              {i.name ?? i.id} ({i.disk_format})
            </option>
          ))}
        </select>
      </label>
      <label>
        Flavor
        <select name="flavor" value={flavor} onChange={(e) => setFlavor(e.currentTarget.value)} required>
          <option value="">Select a flavor</option>
          {flavors.map((f) => (
            <option key={f.id} value={f.id}>
              {f.name} — {f.vcpus} VCPU, {formatMb(f.ram)} RAM, {f.disk} GB disk
            </option>
          ))}
        </select>
      </label>
      <label>
        Availability zone
        <select name="zone" value={zone} onChange={(e) => setZone(e.currentTarget.value)}>
          <option value="">Any availability zone</option>
          {(zones.data?.availabilityZoneInfo ?? []).map((z) => (
            <option key={z.zoneName} value={z.zoneName} disabled={!z.zoneState.available}>
              {z.zoneName}
            </option>
          ))}
        </select>
      </label>
      <label>
        Key pair
        <select name="keypair" value={key} onChange={(e) => setKey(e.currentTarget.value)}>
          <option value="">No key pair</option>
          {(keypairs.data?.keypairs ?? []).map((k) => (
            <option key={k.keypair.name} value={k.keypair.name}>
              {k.keypair.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Count
        <input name="count" type="number" min="1" value={count} onInput={(e) => setCount(e.currentTarget.value)} required />
      </label>
      <div class="form-actions">
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Launching…' : 'Launch'}
        </button>
      </div>
    </form>
  );
}
