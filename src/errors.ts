/**
 * The base of every error Polyvisor raises on purpose. A stable `code` lets callers
 * branch without string matching; `retryable` says whether trying again may help.
 * HTTP status mapping does not live here: the API layer maps codes to statuses in one place.
 */
export class PolyvisorError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    code: string,
    message: string,
    options: { cause?: unknown; retryable?: boolean; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details ?? {};
  }
}

/** Something the caller asked for does not exist (or is not visible to them). */
export class NotFoundError extends PolyvisorError {
  constructor(what: string, id: string, options: { cause?: unknown } = {}) {
    super('not_found', `${what} ${id} could not be found.`, { ...options, details: { what, id } });
  }
}

/** The request is malformed or names something invalid. */
export class InvalidInputError extends PolyvisorError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('invalid_input', message, { details });
  }
}

/** The request conflicts with the current state (wrong vm_state, duplicate name, ...). */
export class ConflictError extends PolyvisorError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('conflict', message, { details });
  }
}

/** The caller is authenticated but not allowed to do this. */
export class ForbiddenError extends PolyvisorError {
  constructor(message: string) {
    super('forbidden', message);
  }
}

/** The caller could not be authenticated. */
export class UnauthorizedError extends PolyvisorError {
  constructor(message = 'The request you have made requires authentication.') {
    super('unauthorized', message);
  }
}

/** A quota would be exceeded. */
export class QuotaExceededError extends PolyvisorError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('quota_exceeded', message, { details });
  }
}

/** The request body is larger than we accept. */
export class TooLargeError extends PolyvisorError {
  constructor(message: string) {
    super('too_large', message);
  }
}

/** Configuration that cannot be used: names the file, section and option. */
export class ConfigError extends PolyvisorError {
  constructor(message: string, details: { file?: string; section?: string; option?: string } = {}) {
    super('config_invalid', message, { details });
  }
}

export function isPolyvisorError(err: unknown, code?: string): err is PolyvisorError {
  return err instanceof PolyvisorError && (code === undefined || err.code === code);
}

/** The message of anything thrown, for logs and faults. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
