import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { SingleBar } from 'cli-progress';
import { Option, type Command } from 'commander';
import { convertImage, type QemuFormat } from '../image/convert/qemu-img.js';
import { DiskInspector, sniffFormat, SNIFF_PREFIX_BYTES } from '../image/formats/index.js';
import { createImageProvider, createImageStore } from '../image/index.js';
import type { ImageProvider } from '../compute/drivers/driver.js';
import { openMigratedDatabase, type CliContext } from './context.js';
import { ImageApiClient, type OsCredentials } from './image-client.js';

/**
 * `polyvisor image upload` and `polyvisor image convert`. Register with
 * `registerImageCommands(program)`. Upload authenticates as the openstack CLI does (OS_AUTH_URL,
 * OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME, OS_USER_DOMAIN_NAME, OS_PROJECT_DOMAIN_NAME, or
 * the matching --os-* options), guesses disk_format from the file's header when not given,
 * and streams the file with a progress bar (rate, ETA). Convert checks the source like an
 * upload (no backing files, no lying headers) and converts it with qemu-img. Variant (given
 * `contextFrom`, which reads the configuration) is the conversion task of the image service:
 * it produces a stored image's variant in the configured store, once, ahead of a boot.
 */
export function registerImageCommands(program: Command, contextFrom?: (cmd: Command) => CliContext): void {
  const image = program.command('image').description('disk images: upload to the Image API, convert between formats');

  if (contextFrom) {
    image
      .command('variant')
      .description('produce (or find) the variant of a stored image in another format now, as a boot would, with the configured store')
      .argument('<image-id>', 'the image')
      .addOption(new Option('--to <format>', 'variant format').choices(['qcow2', 'raw', 'vmdk']).makeOptionMandatory())
      .action(async (id: string, opts: { to: string }, cmd: Command) => {
        const ctx = contextFrom(cmd);
        const handle = await openMigratedDatabase(ctx);
        try {
          await variant(createImageProvider(handle.db, createImageStore(ctx.config)), id, opts.to);
        } finally {
          await handle.close();
        }
      });
  }

  image
    .command('upload')
    .description('create an image and stream a file into it, with a progress bar')
    .argument('<file>', 'the disk image file')
    .option('--name <name>', 'image name (default: the file name)')
    .option('--disk-format <format>', 'raw, qcow2, vmdk, iso, ... (default: detected from the file)')
    .option('--container-format <format>', 'container format', 'bare')
    .option('--public', 'make the image public (admin)')
    .option('--property <key=value>', 'image property (repeatable), e.g. vmware_ostype=ubuntu64Guest', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--keep-on-failure', 'keep the (queued) image when the upload is refused, to fix its properties and retry')
    .addOption(new Option('--os-auth-url <url>').env('OS_AUTH_URL'))
    .addOption(new Option('--os-username <name>').env('OS_USERNAME'))
    .addOption(new Option('--os-password <password>').env('OS_PASSWORD'))
    .addOption(new Option('--os-project-name <name>').env('OS_PROJECT_NAME'))
    .addOption(new Option('--os-user-domain-name <name>').env('OS_USER_DOMAIN_NAME').default('Default'))
    .addOption(new Option('--os-project-domain-name <name>').env('OS_PROJECT_DOMAIN_NAME').default('Default'))
    .action(async (file: string, opts: UploadOptions) => {
      await upload(file, opts);
    });

  image
    .command('convert')
    .description('convert a disk image between qcow2, raw and VMDK (streamOptimized or monolithicSparse) with qemu-img')
    .argument('<source>', 'the image to convert (its format is detected and checked)')
    .argument('<destination>', 'the file to write')
    .addOption(new Option('--to <format>', 'output format').choices(['qcow2', 'raw', 'vmdk']).makeOptionMandatory())
    .addOption(new Option('--subformat <subformat>', 'VMDK flavour').choices(['streamOptimized', 'monolithicSparse']).default('streamOptimized'))
    .addOption(new Option('--adapter-type <type>', 'VMDK ddb.adapterType').choices(['ide', 'lsiLogic', 'busLogic', 'lsiLogicsas', 'paraVirtual']).default('lsiLogic'))
    .action(async (source: string, destination: string, opts: { to: QemuFormat; subformat: 'streamOptimized' | 'monolithicSparse'; adapterType: string }) => {
      await convert(source, destination, opts);
    });
}

interface UploadOptions {
  name?: string;
  diskFormat?: string;
  containerFormat: string;
  public?: boolean;
  property: string[];
  keepOnFailure?: boolean;
  osAuthUrl?: string;
  osUsername?: string;
  osPassword?: string;
  osProjectName?: string;
  osUserDomainName: string;
  osProjectDomainName: string;
}

async function upload(file: string, o: UploadOptions): Promise<void> {
  const signal = AbortSignal.timeout(24 * 3_600_000);
  const { size } = await stat(file);
  const diskFormat = o.diskFormat ?? (await guessDiskFormat(file));
  const properties: Record<string, string> = {};
  for (const p of o.property) {
    const i = p.indexOf('=');
    if (i <= 0) throw new Error(`--property ${p}: expected key=value`);
    properties[p.slice(0, i)] = p.slice(i + 1);
  }
  const creds = credentials(o);
  const client = await ImageApiClient.login(creds, signal);
  const created = await client.createImage(
    { name: o.name ?? basename(file), disk_format: diskFormat, container_format: o.containerFormat, ...(o.public ? { visibility: 'public' } : {}), ...properties },
    signal,
  );
  const id = text(created['id']);
  const bar = new SingleBar({
    format: 'uploading |{bar}| {percentage}% {done}/{all} MiB | {rate} MiB/s | ETA {eta_formatted}',
    hideCursor: true,
    noTTYOutput: true,
    notTTYSchedule: 5000,
    etaBuffer: 50,
  });
  const started = Date.now();
  let sent = 0;
  const mib = (n: number) => (n / 1048576).toFixed(1);
  bar.start(size, 0, { done: mib(0), all: mib(size), rate: '0.0' });
  try {
    await client.upload(
      id,
      file,
      size,
      (n) => {
        sent += n;
        const seconds = Math.max(0.001, (Date.now() - started) / 1000);
        bar.update(sent, { done: mib(sent), all: mib(size), rate: (sent / 1048576 / seconds).toFixed(1) });
      },
      signal,
    );
  } catch (err) {
    bar.stop();
    if (!o.keepOnFailure) await client.deleteImage(id, signal).catch(() => undefined);
    throw new Error(`${err instanceof Error ? err.message : String(err)}${o.keepOnFailure ? `\nImage ${id} stays queued: fix its properties (openstack image set) and upload again.` : ''}`);
  }
  bar.stop();
  const shown = await client.showImage(id, signal);
  const seconds = (Date.now() - started) / 1000;
  const lines = [
    `image ${id} "${text(shown['name'])}" is ${text(shown['status'])}: ${mib(size)} MiB in ${seconds.toFixed(1)} s (${(size / 1048576 / Math.max(seconds, 0.001)).toFixed(1)} MiB/s)`,
    `  disk_format ${text(shown['disk_format'])}, virtual_size ${text(shown['virtual_size'])}, checksum ${text(shown['checksum'])}`,
  ];
  for (const k of ['vmware_disktype', 'vmware_adaptertype', 'vmware_ostype', 'hypervisor_type', 'polyvisor_detected_format']) {
    if (shown[k] !== undefined) lines.push(`  ${k} ${text(shown[k])}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

function credentials(o: UploadOptions): OsCredentials {
  const missing = (['osAuthUrl', 'osUsername', 'osPassword', 'osProjectName'] as const).filter((k) => !o[k]);
  if (missing.length > 0) {
    const names = missing.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
    throw new Error(`missing ${names.join(', ')} (or the OS_* environment variables, as for the openstack CLI)`);
  }
  return {
    authUrl: o.osAuthUrl ?? '',
    username: o.osUsername ?? '',
    password: o.osPassword ?? '',
    projectName: o.osProjectName ?? '',
    userDomainName: o.osUserDomainName,
    projectDomainName: o.osProjectDomainName,
  };
}

/** disk_format from the header; a descriptor alone is refused here already, with the seeds' advice. */
async function guessDiskFormat(file: string): Promise<string> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(SNIFF_PREFIX_BYTES);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const f = sniffFormat(buf.subarray(0, bytesRead));
    if (f === 'vmdk-descriptor') throw new Error(`${file} is a VMDK descriptor without data: upload its -flat.vmdk extent instead, with --disk-format vmdk --property vmware_disktype=preallocated`);
    if (f === 'cowd') throw new Error(`${file} is an ESX snapshot delta extent (COWD): consolidate the disk first`);
    if (f === 'luks' || f === 'qed') throw new Error(`${file} is ${f}: convert it to qcow2 or raw first`);
    return f;
  } finally {
    await fh.close();
  }
}

async function convert(source: string, destination: string, o: { to: QemuFormat; subformat: 'streamOptimized' | 'monolithicSparse'; adapterType: string }): Promise<void> {
  const signal = AbortSignal.timeout(24 * 3_600_000);
  const started = Date.now();
  // The same checks as an upload, in one streamed read: qemu-img is never shown a file with a backing file or lying header.
  const inspector = new DiskInspector({ maxVirtualSize: Number.MAX_SAFE_INTEGER });
  for await (const chunk of createReadStream(source, { highWaterMark: 1 << 20 })) inspector.update(chunk as Buffer);
  inspector.end();
  const info = inspector.info;
  if (!info) throw new Error(`${source} could not be inspected`);
  const sourceFormat: QemuFormat | undefined = info.format === 'iso' ? 'raw' : info.format === 'raw' || info.format === 'qcow2' || info.format === 'vmdk' ? info.format : undefined;
  if (sourceFormat === undefined) throw new Error(`${source} is ${info.description}; convert reads qcow2, raw and VMDK`);
  process.stderr.write(`${source}: ${info.description}\n`);
  const bar = new SingleBar({ format: 'converting |{bar}| {percentage}% | ETA {eta_formatted}', hideCursor: true, noTTYOutput: true, notTTYSchedule: 5000 });
  bar.start(100, 0);
  try {
    await convertImage({
      source,
      sourceFormat,
      destination,
      target: { format: o.to, ...(o.to === 'vmdk' ? { subformat: o.subformat, adapterType: o.adapterType } : {}) },
      signal,
      onProgress: (f) => bar.update(Math.round(f * 100)),
    });
    bar.update(100);
  } finally {
    bar.stop();
  }
  const { size } = await stat(destination);
  const kind = o.to === 'vmdk' ? `vmdk ${o.subformat} (adapter ${o.adapterType})` : o.to;
  process.stdout.write(`${destination}: ${kind}, ${(size / 1048576).toFixed(1)} MiB, in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

function text(v: unknown): string {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v === null ? String(v) : JSON.stringify(v);
}

async function variant(provider: ImageProvider, id: string, format: string): Promise<void> {
  const signal = AbortSignal.timeout(24 * 3_600_000);
  const started = Date.now();
  const source = await provider.get(id, signal);
  let bytes = 0;
  for await (const chunk of await source.open(format, signal)) bytes += (chunk as Buffer).length;
  process.stdout.write(`image ${id} (${source.diskFormat ?? 'unknown format'}) as ${format}: ${(bytes / 1048576).toFixed(1)} MiB, ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}
