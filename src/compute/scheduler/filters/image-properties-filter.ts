import type { HostState } from '../host-state.js';
import type { HostFilter } from './filter.js';
import { parseVersionPredicate, versionToString } from './version-predicate.js';

/**
 * Nova's ImagePropertiesFilter: an image's `hypervisor_type` (img_hv_type), `architecture`
 * (hw_architecture) and `hypervisor_version_requires` (img_hv_requested_version) must suit
 * the node. Names are canonicalised as Nova's hv_type/arch modules do, so an image saying
 * 'vmware' runs on a node reporting 'VMware vCenter Server', and 'kvm' on 'QEMU'.
 */
export const imagePropertiesFilter: HostFilter = {
  name: 'ImagePropertiesFilter',
  prepare(spec) {
    const props = spec.imageProperties;
    const hvType = props['img_hv_type'] ?? props['hypervisor_type'];
    const arch = props['hw_architecture'] ?? props['architecture'];
    const versionText = props['img_hv_requested_version'] ?? props['hypervisor_version_requires'];
    if (hvType === undefined && arch === undefined && versionText === undefined) return null;
    const wantType = hvType === undefined ? undefined : canonicalHvType(hvType);
    const wantArch = arch === undefined ? undefined : canonicalArch(arch);
    // An unparsable requirement can match no node: the failure names this filter.
    const version = versionText === undefined ? undefined : parseVersionPredicate(versionText);
    return (h) => {
      if (wantType !== undefined && !nodeHvTypes(h).includes(wantType)) return false;
      if (wantArch !== undefined) {
        const nodeArch = typeof h.capabilities['architecture'] === 'string' ? canonicalArch(h.capabilities['architecture']) : undefined;
        if (nodeArch !== wantArch) return false;
      }
      if (version !== undefined) {
        if (version === null) return false;
        // Nova lets a node that reports no version pass.
        if (h.hypervisorVersion !== 0 && !version(versionToString(h.hypervisorVersion))) return false;
      }
      return true;
    };
  },
};

/** Nova's hv_type.canonicalize. */
export function canonicalHvType(t: string): string {
  const v = t.trim().toLowerCase();
  return v === 'xapi' ? 'xen' : v;
}

/** The image hypervisor types a node runs, from the type its driver reports. */
export function nodeHvTypes(h: HostState): readonly string[] {
  const t = h.hypervisorType.trim().toLowerCase();
  if (t.startsWith('vmware')) return ['vmware'];
  if (t === 'qemu' || t === 'kvm') return ['qemu', 'kvm'];
  return [canonicalHvType(t)];
}

/** Nova's arch.canonicalize. */
export function canonicalArch(a: string): string {
  const v = a.trim().toLowerCase();
  switch (v) {
    case 'amd64':
    case 'x64':
      return 'x86_64';
    case 'x86':
    case 'i386':
    case 'i486':
    case 'i586':
      return 'i686';
    case 'arm64':
      return 'aarch64';
    default:
      return v;
  }
}
