/**
 * Whether a service counts as up: it sent a heartbeat within `service_down_time`
 * seconds and an operator has not forced it down. Shared by the services API and the
 * scheduler's ComputeFilter so both always agree.
 */
export function isServiceUp(
  service: { readonly last_seen_at: string | null; readonly forced_down: 0 | 1 },
  serviceDownTimeSeconds: number,
  nowMs: number = Date.now(),
): boolean {
  if (service.forced_down === 1 || service.last_seen_at === null) return false;
  return nowMs - Date.parse(service.last_seen_at) <= serviceDownTimeSeconds * 1000;
}
