import { isPolyvisorError } from '../errors.js';

/**
 * The one place where error codes become HTTP statuses and OpenStack fault bodies.
 * Each API family has its own body shape:
 * - compute: `{"itemNotFound": {"code": 404, "message": "..."}}`
 * - identity: `{"error": {"code": 404, "message": "...", "title": "Not Found"}}`
 * - image (Glance): `{"code": 404, "title": "Not Found", "message": "..."}` (webob-style JSON)
 */
export type ApiFamily = 'compute' | 'identity' | 'image' | 'other';

interface FaultKind {
  readonly status: number;
  readonly computeName: string;
  readonly title: string;
}

const BY_CODE: Readonly<Record<string, FaultKind>> = {
  invalid_input: { status: 400, computeName: 'badRequest', title: 'Bad Request' },
  unauthorized: { status: 401, computeName: 'unauthorized', title: 'Unauthorized' },
  forbidden: { status: 403, computeName: 'forbidden', title: 'Forbidden' },
  quota_exceeded: { status: 403, computeName: 'forbidden', title: 'Forbidden' },
  not_found: { status: 404, computeName: 'itemNotFound', title: 'Not Found' },
  method_not_allowed: { status: 405, computeName: 'badMethod', title: 'Method Not Allowed' },
  not_acceptable: { status: 406, computeName: 'notAcceptable', title: 'Not Acceptable' },
  conflict: { status: 409, computeName: 'conflictingRequest', title: 'Conflict' },
  too_large: { status: 413, computeName: 'overLimit', title: 'Request Entity Too Large' },
  unsupported_media_type: { status: 415, computeName: 'unsupportedMediaType', title: 'Unsupported Media Type' },
  not_implemented: { status: 501, computeName: 'notImplemented', title: 'Not Implemented' },
  service_unavailable: { status: 503, computeName: 'serviceUnavailable', title: 'Service Unavailable' },
};

const INTERNAL: FaultKind = { status: 500, computeName: 'computeFault', title: 'Internal Server Error' };

export interface Fault {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** The fault for a thrown error. Unknown errors become a 500 that reveals nothing internal. */
export function faultFor(err: unknown, family: ApiFamily): Fault {
  let kind = INTERNAL;
  let message = 'An unexpected error occurred; see the service log for the request id.';
  if (isPolyvisorError(err)) {
    kind = BY_CODE[err.code] ?? INTERNAL;
    if (kind !== INTERNAL) message = err.message;
  }
  return faultBody(kind.status, message, family, kind);
}

export function faultBody(status: number, message: string, family: ApiFamily, kind?: FaultKind): Fault {
  const k = kind ?? Object.values(BY_CODE).find((f) => f.status === status) ?? INTERNAL;
  switch (family) {
    case 'compute':
      return { status, body: { [k.computeName]: { code: status, message } } };
    case 'identity':
      return { status, body: { error: { code: status, message, title: k.title } } };
    case 'image':
    case 'other':
      return { status, body: { code: status, title: k.title, message } };
  }
}

/** Which API a URL belongs to, by its first path segment. */
export function familyOf(url: string): ApiFamily {
  if (url.startsWith('/compute')) return 'compute';
  if (url.startsWith('/identity')) return 'identity';
  if (url.startsWith('/image')) return 'image';
  return 'other';
}
