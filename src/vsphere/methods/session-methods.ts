import type { CallOptions, RoundTripper } from '../soap/round-tripper.js';
import { moref, type ManagedObjectReference } from '../types/moref.js';
import type { ServiceContent, UserSession } from '../types/service.js';
import { expectObject, invoke } from './invoke.js';

export const SERVICE_INSTANCE = moref('ServiceInstance', 'ServiceInstance');

export async function retrieveServiceContent(rt: RoundTripper, o?: CallOptions): Promise<ServiceContent> {
  return expectObject<ServiceContent>(await invoke(rt, 'RetrieveServiceContent', SERVICE_INSTANCE, {}, 'idempotent', o), 'RetrieveServiceContent');
}

export async function currentTime(rt: RoundTripper, o?: CallOptions): Promise<Date> {
  return (await invoke(rt, 'CurrentTime', SERVICE_INSTANCE, {}, 'idempotent', o)) as Date;
}

export async function login(rt: RoundTripper, sm: ManagedObjectReference, userName: string, password: string, o?: CallOptions): Promise<UserSession> {
  return expectObject<UserSession>(await invoke(rt, 'Login', sm, { userName, password }, 'idempotent', o), 'Login');
}

export async function logout(rt: RoundTripper, sm: ManagedObjectReference, o?: CallOptions): Promise<void> {
  await invoke(rt, 'Logout', sm, {}, 'idempotent', o);
}

export async function terminateSession(rt: RoundTripper, sm: ManagedObjectReference, sessionId: readonly string[], o?: CallOptions): Promise<void> {
  await invoke(rt, 'TerminateSession', sm, { sessionId }, 'idempotent', o);
}

export async function sessionIsActive(rt: RoundTripper, sm: ManagedObjectReference, sessionID: string, userName: string, o?: CallOptions): Promise<boolean> {
  return (await invoke(rt, 'SessionIsActive', sm, { sessionID, userName }, 'idempotent', o)) === true;
}
