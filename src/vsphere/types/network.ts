import type { DataObject } from './data-object.js';

export interface HostPortGroupSpec extends DataObject {
  readonly name: string;
  readonly vlanId: number;
  readonly vswitchName: string;
  readonly policy: DataObject;
}
