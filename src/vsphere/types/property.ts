import type { DataObject } from './data-object.js';
import type { ManagedObjectReference } from './moref.js';
import type { LocalizedMethodFault } from './task.js';

export interface SelectionSpec extends DataObject {
  readonly name?: string;
}

export interface TraversalSpec extends SelectionSpec {
  readonly _type: 'TraversalSpec';
  readonly type: string;
  readonly path: string;
  readonly skip?: boolean;
  readonly selectSet?: readonly SelectionSpec[];
}

export interface PropertySpec extends DataObject {
  readonly type: string;
  readonly all?: boolean;
  readonly pathSet?: readonly string[];
}

export interface ObjectSpec extends DataObject {
  readonly obj: ManagedObjectReference;
  readonly skip?: boolean;
  readonly selectSet?: readonly SelectionSpec[];
}

export interface PropertyFilterSpec extends DataObject {
  readonly propSet: readonly PropertySpec[];
  readonly objectSet: readonly ObjectSpec[];
  readonly reportMissingObjectsInResults?: boolean;
}

export interface RetrieveOptions extends DataObject {
  readonly maxObjects?: number;
}

export interface DynamicProperty {
  readonly name: string;
  readonly val: unknown;
}

export interface MissingProperty {
  readonly path: string;
  readonly fault: LocalizedMethodFault;
}

export interface ObjectContent {
  readonly obj: ManagedObjectReference;
  readonly propSet?: readonly DynamicProperty[];
  readonly missingSet?: readonly MissingProperty[];
}

export interface RetrieveResult {
  readonly token?: string;
  readonly objects?: readonly ObjectContent[];
}

export interface WaitOptions extends DataObject {
  readonly maxWaitSeconds?: number;
  readonly maxObjectUpdates?: number;
}

export interface PropertyChange {
  readonly name: string;
  readonly op: 'add' | 'remove' | 'assign' | 'indirectRemove';
  readonly val?: unknown;
}

export interface ObjectUpdate {
  readonly kind: 'modify' | 'enter' | 'leave';
  readonly obj: ManagedObjectReference;
  readonly changeSet?: readonly PropertyChange[];
}

export interface PropertyFilterUpdate {
  readonly filter: ManagedObjectReference;
  readonly objectSet?: readonly ObjectUpdate[];
}

export interface UpdateSet {
  readonly version: string;
  readonly filterSet?: readonly PropertyFilterUpdate[];
  readonly truncated?: boolean;
}
