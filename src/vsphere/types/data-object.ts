/**
 * A vim25 data object as the codec carries it: a plain object whose `_type` names its
 * vim25 type (the `xsi:type` on the wire). Decoded objects always carry `_type`; on
 * objects we send it is needed only where the declared type is a base type
 * (a VirtualDisk in a VirtualDevice field) and defaults to the declared type otherwise.
 */
export interface DataObject {
  readonly _type?: string;
}

/** A data object read from the server: its `_type` is always known. */
export interface Decoded {
  readonly _type: string;
}

export function isDataObject(v: unknown, type?: string): v is Decoded & Record<string, unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { _type?: unknown })._type === 'string' &&
    (type === undefined || (v as { _type: string })._type === type);
}
