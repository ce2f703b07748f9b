/** A managed-object reference: the type and server-side id of a vSphere object. */
export interface ManagedObjectReference {
  readonly type: string;
  readonly value: string;
}

export type Moref = ManagedObjectReference;

export function moref(type: string, value: string): ManagedObjectReference {
  return { type, value };
}

export function isMoref(v: unknown): v is ManagedObjectReference {
  return (
    typeof v === 'object' && v !== null && !('_type' in v) &&
    typeof (v as { type?: unknown }).type === 'string' && typeof (v as { value?: unknown }).value === 'string'
  );
}

/** "VirtualMachine:vm-42": for logs and map keys. */
export function morefKey(ref: ManagedObjectReference): string {
  return `${ref.type}:${ref.value}`;
}

export function sameMoref(a: ManagedObjectReference, b: ManagedObjectReference): boolean {
  return a.type === b.type && a.value === b.value;
}
