import type { InstanceRow } from '../../db/schema.js';
import type { InstanceRef, InstanceSpec } from '../drivers/driver.js';
import { parseFlavor, parseStringMap } from '../scheduler/request-spec.js';
import { parsePersonality } from '../api/servers/personality.js';

/** What a driver needs to find the instance. */
export function instanceRef(row: Pick<InstanceRow, 'uuid' | 'node' | 'driver_info'>): InstanceRef {
  return { uuid: row.uuid, node: row.node ?? '', driverInfo: parseObject(row.driver_info) };
}

/** Everything a driver needs to build the instance. */
export function instanceSpec(row: InstanceRow, metadata: Record<string, string>): InstanceSpec {
  return {
    ...instanceRef(row),
    name: row.display_name,
    hostname: row.hostname,
    projectId: row.project_id,
    userId: row.user_id,
    flavor: parseFlavor(row.flavor),
    metadata,
    keyData: row.key_data,
    userData: row.user_data,
    injectedFiles: parsePersonality(row.injected_files),
    networks: parseNetworks(row.networks),
  };
}

function parseNetworks(text: string): InstanceSpec['networks'] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return 'auto';
  }
  if (v === 'none' || v === 'auto') return v;
  if (!Array.isArray(v)) return 'auto';
  return v.map((n: unknown) => {
    const m = parseStringMap(JSON.stringify(n ?? {}));
    return {
      ...(m['uuid'] !== undefined ? { uuid: m['uuid'] } : {}),
      ...(m['port'] !== undefined ? { port: m['port'] } : {}),
      ...((m['fixed_ip'] ?? m['fixedIp']) !== undefined ? { fixedIp: (m['fixed_ip'] ?? m['fixedIp']) as string } : {}),
    };
  });
}

function parseObject(text: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
