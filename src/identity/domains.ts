import type { DomainSelector } from './auth-request.js';

/** Polyvisor has one identity domain, Keystone's `default` ("Default"). */
export const DEFAULT_DOMAIN = {
  id: 'default',
  name: 'Default',
  description: 'The default domain',
  enabled: true,
} as const;

export function isDefaultDomain(sel: DomainSelector): boolean {
  return 'id' in sel ? sel.id === DEFAULT_DOMAIN.id : sel.name === DEFAULT_DOMAIN.name;
}

export function domainRef(domainId: string): { id: string; name: string } {
  return { id: domainId, name: domainId === DEFAULT_DOMAIN.id ? DEFAULT_DOMAIN.name : domainId };
}
