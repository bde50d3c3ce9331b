/**
 * Reading ln-service failures, which arrive as arrays `[httpLikeCode, 'MessageName', { err }]` where `err`
 * is the gRPC error lnd answered with (when there is one).
 */

/** The parts of an ln-service failure this adapter looks at. */
export type LndFailure = {
  /** ln-service's name of the failure, e.g. `InsufficientBalanceToAttemptPayment`. */
  name: string;
  /** gRPC status of lnd's answer, when the failure wraps one (5 NOT_FOUND, 14 UNAVAILABLE, …). */
  grpcCode?: number;
  /** lnd's own message, when the failure wraps one (safe to show: it carries no key material). */
  details?: string;
};

/** gRPC status codes that mean the node could not be reached or did not answer in time. */
export const UNREACHABLE_GRPC_CODES: readonly number[] = [1, 4, 14];

/**
 * Reads an ln-service failure (anything thrown by an ln-service call).
 *
 * @example
 * try { await getInvoice({ lnd, id }) } catch (e) { if (lndFailureOf(e).grpcCode === 5) … }
 */
export function lndFailureOf(error: unknown): LndFailure {
  if (!Array.isArray(error)) return { name: error instanceof Error ? error.message : 'UnknownLndError' };
  const name = typeof error[1] === 'string' ? error[1] : 'UnknownLndError';
  const info: unknown = error[2];
  if (typeof info !== 'object' || info === null || !('err' in info)) return { name };
  const err: unknown = info.err;
  if (typeof err !== 'object' || err === null) return { name };
  const grpcCode = 'code' in err && typeof err.code === 'number' ? err.code : undefined;
  const details = 'details' in err && typeof err.details === 'string' ? err.details.slice(0, 200) : undefined;
  return { name, ...(grpcCode === undefined ? {} : { grpcCode }), ...(details === undefined ? {} : { details }) };
}

/** True when the failure says the node was unreachable (as opposed to a refusal). */
export function isUnreachable(failure: LndFailure): boolean {
  return failure.grpcCode !== undefined && UNREACHABLE_GRPC_CODES.includes(failure.grpcCode);
}

/** The connection error inside an unreachable node's failure, e.g. `connect ECONNREFUSED 127.0.0.1:10009`. */
export function connectionErrorOf(failure: LndFailure): string | undefined {
  const last = failure.details?.match(/Last error: (?:Error: )?(.*?)\.?\s*(?:Resolution note:|$)/)?.[1]?.trim();
  return last === undefined || last === '' ? undefined : last.slice(0, 160);
}

/** True when the node answered but its TLS certificate is not the one configured (a wrong or stale `cert`). */
export function isCertificateFailure(failure: LndFailure): boolean {
  return isUnreachable(failure) && /certificate|self[- ]signed|SSL|TLS|handshake/i.test(failure.details ?? '');
}
