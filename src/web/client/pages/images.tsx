import { useState } from 'preact/hooks';
import { del, get, post, request, uploadImageData, type Image } from '../api.js';
import type { Session } from '../session.js';
import { Empty, ErrorBox, Modal, errorText, formatBytes, formatTime, useLoad } from '../ui.js';

/** Glance's core attributes: everything else on an image is a custom property. */
const CORE = new Set([
  'id', 'name', 'status', 'visibility', 'protected', 'os_hidden', 'checksum', 'os_hash_algo', 'os_hash_value', 'owner', 'size',
  'virtual_size', 'min_ram', 'min_disk', 'disk_format', 'container_format', 'created_at', 'updated_at', 'tags', 'self', 'file',
  'schema', 'locations', 'direct_url', 'stores',
]);
/** What the image service detects from the data itself (src/image/formats); shown as facts, read-only where reserved. */
const isFact = (k: string): boolean => k.startsWith('polyvisor_') || k === 'vmware_disktype' || k === 'vmware_adaptertype';
const FACT_LABELS: Record<string, string> = {
  polyvisor_detected_format: 'Detected format',
  polyvisor_detected_adapter: 'Detected VMDK adapter',
  vmware_disktype: 'VMDK disk type (vmware_disktype)',
  vmware_adaptertype: 'Disk adapter (vmware_adaptertype)',
};
const isReadOnly = (k: string): boolean => k.startsWith('polyvisor_') || k.startsWith('os_glance');

const DISK_FORMATS = ['raw', 'qcow2', 'vmdk', 'iso', 'vhd', 'vhdx', 'vdi', 'ami', 'ari', 'aki', 'ploop'];

function guessFormat(fileName: string): string {
  const ext = fileName.toLowerCase().split('.').pop() ?? '';
  if (ext === 'img') return 'raw';
  return DISK_FORMATS.includes(ext) ? ext : 'raw';
}

const withBytes = (n: number | null): string => (n === null ? '—' : `${formatBytes(n)} (${n} bytes)`);

/** Images the project can see: its own, shared, community and public ones. */
export function ImagesPage(props: { session: Session; selected: string | null }) {
  const { data, error, reload } = useLoad(() => get<{ images: Image[] }>('/image/v2/images?limit=1000'), [props.session.projectId]);
  const [uploading, setUploading] = useState(false);
  if (props.selected !== null) return <ImageDetail id={props.selected} session={props.session} onChanged={() => void reload()} />;
  const images = [...(data?.images ?? [])].sort((a, b) => (a.name ?? '').localeCompare(b.name ?? ''));
  return (
    <section>
      <div class="page-head">
        <h1>Images</h1>
        <div class="spacer" />
        <button class="primary" onClick={() => setUploading(true)}>
          Upload image
        </button>
      </div>
      <ErrorBox error={error} />
      {images.length === 0 ? (
        <Empty>No images.</Empty>
      ) : (
        <table class="grid" aria-label="Images">
          <thead>
            <tr>
              <th>Name</th>
              <th>Status</th>
              <th>Visibility</th>
              <th>Disk format</th>
              <th>Size</th>
              <th>Virtual size</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {images.map((i) => (
              <tr key={i.id} data-image-id={i.id} data-name={i.name ?? ''}>
                <td>
                  <a href={`#/images/${i.id}`}>{i.name ?? i.id}</a>
                </td>
                <td>
                  <span class={`badge ${i.status === 'active' ? 'ok' : i.status === 'killed' ? 'bad' : 'busy'}`}>{i.status}</span>
                </td>
                <td>{i.visibility}</td>
                <td>{i.disk_format ?? '—'}</td>
                <td>{formatBytes(i.size)}</td>
                <td>{formatBytes(i.virtual_size)}</td>
                <td>{formatTime(i.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {uploading && (
        <Modal title="Upload image" onClose={() => setUploading(false)}>
          <UploadForm
            session={props.session}
            onDone={() => {
              setUploading(false);
              void reload();
            }}
            onCreated={() => void reload()}
          />
        </Modal>
      )}
    </section>
  );
}

/** Creates the image record (POST /v2/images), then sends the file with XHR so the bar shows real upload progress. */
function UploadForm(props: { session: Session; onDone: () => void; onCreated: () => void }) {
  const [name, setName] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [format, setFormat] = useState('raw');
  const [visibility, setVisibility] = useState('private');
  const [hypervisor, setHypervisor] = useState('');
  const [progress, setProgress] = useState<{ loaded: number; total: number } | null>(null);
  const [phase, setPhase] = useState<'idle' | 'creating' | 'uploading' | 'done'>('idle');
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (file === null) {
      setError('Choose the image file to upload.');
      return;
    }
    setError(null);
    setPhase('creating');
    let created: Image;
    try {
      created = await post<Image>('/image/v2/images', {
        name: name.trim() === '' ? file.name : name.trim(),
        disk_format: format,
        container_format: 'bare',
        visibility,
        ...(hypervisor === '' ? {} : { hypervisor_type: hypervisor }),
      });
    } catch (err) {
      setError(errorText(err));
      setPhase('idle');
      return;
    }
    props.onCreated();
    setPhase('uploading');
    setProgress({ loaded: 0, total: file.size });
    try {
      await uploadImageData(created.id, file, (loaded, total) => setProgress({ loaded, total }));
      // The bar stays at 100% until the user closes the form; the list behind it is reloaded.
      setPhase('done');
      props.onCreated();
    } catch (err) {
      setError(`Upload of ${created.name ?? created.id} failed: ${errorText(err)}`);
      setPhase('idle');
    }
  };
  const pct = progress === null || progress.total === 0 ? 0 : Math.round((100 * progress.loaded) / progress.total);
  return (
    <form class="form" onSubmit={(e) => void submit(e)} aria-label="Upload image">
      <ErrorBox error={error} />
      <label>
        File
        <input
          name="file"
          type="file"
          onChange={(e) => {
            const f = e.currentTarget.files?.[0] ?? null;
            setFile(f);
            if (f !== null) setFormat(guessFormat(f.name));
          }}
          required
        />
      </label>
      <label>
        Image name
        <input name="name" value={name} placeholder={file?.name ?? ''} onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <label>
        Disk format
        <select name="disk_format" value={format} onChange={(e) => setFormat(e.currentTarget.value)}>
          {DISK_FORMATS.map((f) => (
            <option key={f} value={f}>
              {f}
            </option>
          ))}
        </select>
      </label>
      <label>
        Visibility
        <select name="visibility" value={visibility} onChange={(e) => setVisibility(e.currentTarget.value)}>
          <option value="private">private</option>
          <option value="shared">shared</option>
          <option value="community">community</option>
          {props.session.isAdmin && <option value="public">public</option>}
        </select>
      </label>
      <label>
        Hypervisor type
        <select name="hypervisor_type" value={hypervisor} onChange={(e) => setHypervisor(e.currentTarget.value)}>
          <option value="">any</option>
          <option value="qemu">qemu (KVM/QEMU)</option>
          <option value="vmware">vmware</option>
        </select>
      </label>
      {progress !== null && (
        <div class="progress" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct} aria-label="Upload progress">
          <div class="progress-fill" style={{ width: `${pct}%` }} />
          <span class="progress-text">
            {phase === 'done' ? 'Uploaded' : 'Uploading'} {formatBytes(progress.loaded)} of {formatBytes(progress.total)} ({pct}%)
          </span>
        </div>
      )}
      <div class="form-actions">
        {phase === 'done' ? (
          <button type="button" class="primary" onClick={props.onDone}>
            Done
          </button>
        ) : (
          <button type="submit" class="primary" disabled={phase === 'creating' || phase === 'uploading'}>
            {phase === 'uploading' ? 'Uploading…' : 'Upload'}
          </button>
        )}
      </div>
    </form>
  );
}

/** One image: its facts (detected from the data), its custom properties (editable), delete. */
function ImageDetail(props: { id: string; session: Session; onChanged: () => void }) {
  const { data: image, error, reload } = useLoad(() => get<Image>(`/image/v2/images/${props.id}`), [props.id]);
  const [opError, setOpError] = useState<string | null>(null);
  const [newKey, setNewKey] = useState('');
  const [newValue, setNewValue] = useState('');
  const [edits, setEdits] = useState<Record<string, string>>({});
  const [confirming, setConfirming] = useState(false);

  if (image === undefined) {
    return (
      <section>
        <a href="#/images">← Images</a>
        <ErrorBox error={error} />
      </section>
    );
  }
  const props_ = Object.entries(image).filter(([k]) => !CORE.has(k));
  const facts: [string, string][] = [
    ['Disk format', image.disk_format ?? '—'],
    ['Container format', image.container_format ?? '—'],
    ['Size', withBytes(image.size)],
    ['Virtual size', withBytes(image.virtual_size)],
    ['Checksum (MD5)', image.checksum ?? '—'],
    ...props_.filter(([k]) => isFact(k)).map(([k, v]): [string, string] => [FACT_LABELS[k] ?? k, String(v)]),
  ];
  const editable = props_.filter(([k]) => !isReadOnly(k));
  const mine = props.session.isAdmin || image.owner === props.session.projectId;

  const patch = async (ops: unknown[]): Promise<boolean> => {
    setOpError(null);
    try {
      await request(`/image/v2/images/${image.id}`, { method: 'PATCH', body: ops, contentType: 'application/openstack-images-v2.1-json-patch' });
    } catch (err) {
      setOpError(errorText(err));
      return false;
    }
    setEdits({});
    await reload();
    props.onChanged();
    return true;
  };
  const remove = async () => {
    setConfirming(false);
    try {
      await del(`/image/v2/images/${image.id}`);
      props.onChanged();
      window.location.hash = '#/images';
    } catch (err) {
      setOpError(errorText(err));
    }
  };

  return (
    <section data-image-id={image.id}>
      <a href="#/images">← Images</a>
      <div class="page-head">
        <h1>{image.name ?? image.id}</h1>
        <span class={`badge ${image.status === 'active' ? 'ok' : 'busy'}`}>{image.status}</span>
        <div class="spacer" />
        {mine && (
          <button class="danger" data-action="delete-image" onClick={() => setConfirming(true)} disabled={image.protected}>
            Delete image
          </button>
        )}
      </div>
      <ErrorBox error={opError} onClose={() => setOpError(null)} />
      <div class="two-col">
        <div class="card">
          <h2>Disk facts</h2>
          <dl class="facts" aria-label="Disk facts">
            {facts.map(([k, v]) => (
              <>
                <dt>{k}</dt>
                <dd data-fact={k}>{v}</dd>
              </>
            ))}
          </dl>
          <p class="muted small">
            ID <code>{image.id}</code>, visibility {image.visibility}, owner <code>{image.owner ?? '—'}</code>
          </p>
        </div>
        <div class="card">
          <h2>Properties</h2>
          <table class="grid props" aria-label="Properties">
            <tbody>
              {editable.map(([k, v]) => (
                <tr key={k} data-prop={k}>
                  <th>{k}</th>
                  <td>
                    <input value={edits[k] ?? String(v)} disabled={!mine} onInput={(e) => setEdits({ ...edits, [k]: e.currentTarget.value })} aria-label={`Value of ${k}`} />
                  </td>
                  <td>
                    {mine && (
                      <button class="link danger" onClick={() => void patch([{ op: 'remove', path: `/${k}` }])} aria-label={`Remove ${k}`}>
                        Remove
                      </button>
                    )}
                  </td>
                </tr>
              ))}
              {mine && (
                <tr>
                  <td>
                    <input placeholder="property" value={newKey} onInput={(e) => setNewKey(e.currentTarget.value)} aria-label="New property name" />
                  </td>
                  <td>
                    <input placeholder="value" value={newValue} onInput={(e) => setNewValue(e.currentTarget.value)} aria-label="New property value" />
                  </td>
                  <td />
                </tr>
              )}
            </tbody>
          </table>
          {mine && (
            <div class="form-actions">
              <button
                class="primary"
                onClick={() => {
                  const ops: unknown[] = Object.entries(edits).map(([k, v]) => ({ op: 'replace', path: `/${k}`, value: v }));
                  if (newKey.trim() !== '') ops.push({ op: 'add', path: `/${newKey.trim()}`, value: newValue });
                  if (ops.length > 0) {
                    void patch(ops).then((ok) => {
                      if (!ok) return;
                      setNewKey('');
                      setNewValue('');
                    });
                  }
                }}
              >
                Save properties
              </button>
            </div>
          )}
        </div>
      </div>
      {confirming && (
        <Modal title="Delete image" onClose={() => setConfirming(false)}>
          <p>
            Delete image <strong>{image.name ?? image.id}</strong>? Instances already running from it are not affected.
          </p>
          <div class="form-actions">
            <button onClick={() => setConfirming(false)}>Cancel</button>
            <button class="danger" data-confirm="delete" onClick={() => void remove()}>
              Delete image
            </button>
          </div>
        </Modal>
      )}
    </section>
  );
}
