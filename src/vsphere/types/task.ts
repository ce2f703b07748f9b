import type { Decoded } from './data-object.js';
import type { ManagedObjectReference } from './moref.js';

/** Any vim fault data object (NotAuthenticated, FileNotFound, ...), fields by its `_type`. */
export interface MethodFault extends Decoded {
  readonly faultMessage?: readonly { readonly key: string; readonly message?: string }[];
  readonly [field: string]: unknown;
}

export interface LocalizedMethodFault {
  readonly fault: MethodFault;
  readonly localizedMessage?: string;
}

export type TaskInfoState = 'queued' | 'running' | 'success' | 'error';

export interface TaskInfo {
  readonly key: string;
  readonly task: ManagedObjectReference;
  readonly name?: string;
  readonly descriptionId: string;
  readonly entity?: ManagedObjectReference;
  readonly entityName?: string;
  readonly state: TaskInfoState;
  readonly cancelled: boolean;
  readonly cancelable: boolean;
  readonly error?: LocalizedMethodFault;
  readonly result?: unknown;
  readonly progress?: number;
  readonly queueTime: Date;
  readonly startTime?: Date;
  readonly completeTime?: Date;
}
