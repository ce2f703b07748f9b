import { PolyvisorError } from '../../errors.js';
import type { MethodFault } from '../types/task.js';
import { vim25 } from '../types/schema.js';

export interface FaultContext {
  /** The vSphere method that failed, e.g. PowerOnVM_Task (or the task's name). */
  readonly method?: string;
  /** "VirtualMachine:vm-42". */
  readonly target?: string;
  readonly opId?: string;
}

/**
 * A fault vSphere answered with (a SOAP fault, or a task's `info.error`). `faultType` is
 * the vim25 type (`FileNotFound`); `fault` holds its fields. Subclasses exist for the
 * faults callers branch on; anything else is a plain VimFault carrying type and message.
 * Test with {@link isFault}/{@link asFault}, which follow vim25 inheritance
 * (`isFault(e, 'InvalidState')` is true for an InvalidPowerState).
 */
export class VimFault extends PolyvisorError {
  readonly faultType: string;
  readonly fault: MethodFault;
  readonly method: string | undefined;
  readonly opId: string | undefined;

  constructor(fault: MethodFault, message: string, context: FaultContext = {}) {
    const text = message === '' ? fault._type : `${fault._type}: ${message}`;
    const where = context.method === undefined ? '' : ` (${context.method}${context.target === undefined ? '' : ` on ${context.target}`})`;
    super(`vim.${fault._type}`, `vSphere fault ${text}${where}`, {
      retryable: TRANSIENT_FAULTS.has(fault._type),
      details: { faultType: fault._type, method: context.method, target: context.target, opId: context.opId },
    });
    this.faultType = fault._type;
    this.fault = fault;
    this.method = context.method;
    this.opId = context.opId;
  }
}

/** Faults that say "try again later" rather than "this cannot work". */
const TRANSIENT_FAULTS: ReadonlySet<string> = new Set(['HostCommunication', 'RequestCanceled', 'ResourceInUse', 'SystemError', 'NotEnoughLicenses']);

export class NoPermissionFault extends VimFault {}
export class NotAuthenticatedFault extends NoPermissionFault {}
export class InvalidLoginFault extends VimFault {}
export class FileFault extends VimFault {}
export class FileAlreadyExistsFault extends FileFault {}
export class FileNotFoundFault extends FileFault {}
export class DuplicateNameFault extends VimFault {}
export class InvalidStateFault extends VimFault {}
export class InvalidPowerStateFault extends InvalidStateFault {}
export class TaskInProgressFault extends VimFault {}
export class ManagedObjectNotFoundFault extends VimFault {}
export class InvalidArgumentFault extends VimFault {}
export class MethodNotFoundFault extends VimFault {}

type FaultClass = new (fault: MethodFault, message: string, context?: FaultContext) => VimFault;

const CLASSES: ReadonlyMap<string, FaultClass> = new Map<string, FaultClass>([
  ['NoPermission', NoPermissionFault],
  ['NotAuthenticated', NotAuthenticatedFault],
  ['InvalidLogin', InvalidLoginFault],
  ['FileFault', FileFault],
  ['FileAlreadyExists', FileAlreadyExistsFault],
  ['FileNotFound', FileNotFoundFault],
  ['DuplicateName', DuplicateNameFault],
  ['InvalidState', InvalidStateFault],
  ['InvalidPowerState', InvalidPowerStateFault],
  ['TaskInProgress', TaskInProgressFault],
  ['ManagedObjectNotFound', ManagedObjectNotFoundFault],
  ['InvalidArgument', InvalidArgumentFault],
  ['MethodNotFound', MethodNotFoundFault],
]);

/** Builds the most specific error class for a fault, following vim25 inheritance. */
export function createVimFault(fault: MethodFault, message: string, context: FaultContext = {}): VimFault {
  for (const t of vim25().ancestry(fault._type)) {
    const cls = CLASSES.get(t);
    if (cls !== undefined) return new cls(fault, message, context);
  }
  return new VimFault(fault, message, context);
}

export function isFault(err: unknown, faultType?: string): err is VimFault {
  return err instanceof VimFault && (faultType === undefined || vim25().isA(err.faultType, faultType));
}

export function asFault(err: unknown, faultType?: string): VimFault | undefined {
  return isFault(err, faultType) ? err : undefined;
}
