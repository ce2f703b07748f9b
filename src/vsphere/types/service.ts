import type { ManagedObjectReference } from './moref.js';

export interface AboutInfo {
  readonly name: string;
  readonly fullName: string;
  readonly vendor: string;
  readonly version: string;
  readonly build: string;
  /** 'VirtualCenter' or 'HostAgent' (ESXi). */
  readonly apiType: string;
  readonly apiVersion: string;
  readonly instanceUuid?: string;
}

/** The part of ServiceContent the client uses; the rest stays available untyped. */
export interface ServiceContent {
  readonly rootFolder: ManagedObjectReference;
  readonly propertyCollector: ManagedObjectReference;
  readonly viewManager?: ManagedObjectReference;
  readonly about: AboutInfo;
  readonly sessionManager?: ManagedObjectReference;
  readonly authorizationManager?: ManagedObjectReference;
  readonly fileManager?: ManagedObjectReference;
  readonly virtualDiskManager?: ManagedObjectReference;
  readonly searchIndex?: ManagedObjectReference;
  readonly taskManager?: ManagedObjectReference;
  readonly eventManager?: ManagedObjectReference;
}

export interface UserSession {
  readonly key: string;
  readonly userName: string;
  readonly fullName?: string;
  readonly loginTime: Date;
  readonly lastActiveTime: Date;
}

export interface EntityPrivilege {
  readonly entity: ManagedObjectReference;
  readonly privAvailability: readonly { readonly privId: string; readonly isGranted: boolean }[];
}
