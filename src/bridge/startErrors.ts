/**
 * What a failed workflow start means for the record that asked for it.
 *
 *  - `record`: Temporal rejected this record's arguments (a value over a size limit, say).
 *    Retrying cannot help and the next record is unaffected: dead-letter it and move on.
 *  - `systemic`: Temporal refused in a way that would refuse every record (search attribute not
 *    registered on the namespace, namespace not found, permission denied, method not
 *    implemented). Dead-lettering would drain the whole topic into the DLQ: back off, alarm, and
 *    commit nothing until an operator fixes the setup.
 *  - `transient`: Temporal unreachable, slow, overloaded or restarting (and anything not
 *    recognised). Back off and retry the same records.
 *
 * The SDK wraps a gRPC error in ServiceError (`cause` carries `code` and `details`), and turns a
 * NamespaceNotFoundFailure into NamespaceNotFoundError and NOT_FOUND into WorkflowNotFoundError.
 */
import { status } from '@grpc/grpc-js';

export type StartFailureKind = 'record' | 'systemic' | 'transient';

export interface StartFailure {
  kind: StartFailureKind;
  /** gRPC status name when there was one, e.g. INVALID_ARGUMENT. */
  code?: string;
  /** The server's own words (gRPC details), else the error message. */
  message: string;
}

interface ErrorLike {
  name?: string;
  message?: string;
  code?: unknown;
  details?: unknown;
  cause?: unknown;
}

/** Codes no record could cause and no retry alone will fix. */
const SYSTEMIC_CODES = new Set<number>([
  status.NOT_FOUND, // namespace (or, on older servers, anything addressed) not found
  status.PERMISSION_DENIED,
  status.UNAUTHENTICATED,
  status.UNIMPLEMENTED,
  status.FAILED_PRECONDITION, // e.g. namespace not active in this cluster, feature disabled
]);

/**
 * INVALID_ARGUMENT messages that name the namespace's setup rather than the record: an
 * unregistered or mistyped search attribute, an unknown namespace, a disabled feature. Matched on
 * the server's wording (temporalio/temporal searchattribute and frontend validators).
 */
const SYSTEMIC_INVALID_ARGUMENT = [
  /search attribute .* is not defined/i,
  /no mapping defined for search attribute/i,
  /invalid search attribute type/i,
  /search attributes? (are|is) not (supported|enabled|allowed)/i,
  /unable to (get|find) search attributes?/i,
  /namespace .* (not found|does not exist|is not registered)/i,
  /not (enabled|supported) (for|on|in) (this )?(namespace|cluster|server)/i,
];

const codeName = (code: number): string | undefined => (status as unknown as Record<number, string>)[code];

/** The innermost error that carries a numeric gRPC code, with its message. */
function grpcCause(err: unknown): { code?: number; message: string } {
  let message = '';
  for (let e = err as ErrorLike | undefined, depth = 0; e && depth < 5; e = e.cause as ErrorLike | undefined, depth++) {
    if (typeof e !== 'object') break;
    const text = typeof e.details === 'string' && e.details ? e.details : (e.message ?? '');
    if (typeof e.code === 'number') return { code: e.code, message: text };
    if (!message && text) message = text;
  }
  return { message: message || String(err) };
}

export function classifyStartError(err: unknown): StartFailure {
  const name = (err as ErrorLike | undefined)?.name;
  if (name === 'NamespaceNotFoundError' || name === 'WorkflowNotFoundError') {
    return { kind: 'systemic', code: 'NOT_FOUND', message: (err as Error).message };
  }
  const { code, message } = grpcCause(err);
  const named = code === undefined ? undefined : codeName(code);
  const failure = (kind: StartFailureKind): StartFailure => ({ kind, ...(named ? { code: named } : {}), message });
  if (code === undefined) return failure('transient');
  if (SYSTEMIC_CODES.has(code)) return failure('systemic');
  if (code === status.INVALID_ARGUMENT) {
    return failure(SYSTEMIC_INVALID_ARGUMENT.some((re) => re.test(message)) ? 'systemic' : 'record');
  }
  return failure('transient');
}
