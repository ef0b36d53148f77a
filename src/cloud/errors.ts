/**
 * What can go wrong talking to the Meross cloud, one class per thing the user can act on. Messages never
 * contain the password, the token or the key: no constructor takes any of them.
 */
export type CloudErrorCode =
  | 'MFA_REQUIRED'
  | 'WRONG_MFA_CODE'
  | 'WRONG_PASSWORD'
  | 'UNKNOWN_EMAIL'
  | 'LOCKED'
  | 'TOO_FREQUENT'
  | 'TOO_MANY_TOKENS'
  | 'TOKEN_EXPIRED'
  | 'UNREACHABLE'
  | 'BAD_REPLY'
  | 'REFUSED';

export class CloudError extends Error {
  constructor(
    readonly code: CloudErrorCode,
    message: string,
    /** The cloud's `apiStatus`, when the cloud answered. */
    readonly apiStatus?: number,
  ) {
    super(message);
    this.name = 'CloudError';
  }
}

/**
 * Statuses that mean "this token is no good any more: sign in again" when they answer a call made with a token.
 * meross_lan's set (`APISTATUS_TOKEN_ERRORS` in merossclient/cloudapi.py); MerossIot signs in again on 1022 and
 * 1200 only. 1003 (account disabled) and 1301 (too many tokens) are in it because the cloud answers them to a
 * token it has dropped; signing in again says whether the account itself is the problem.
 */
export const DEAD_TOKEN_STATUSES: ReadonlySet<number> = new Set([1003, 1019, 1022, 1200, 1301]);

/**
 * Every status the two peer clients name (meross_lan's `APISTATUS_MAP`, MerossIot's `ErrorCodes`), as the error
 * the user sees. 1201 is named in neither peer's map but is seen when the cloud cannot issue a token.
 */
const STATUSES: Readonly<Record<number, readonly [CloudErrorCode, string]>> = {
  1001: ['WRONG_PASSWORD', 'wrong or missing password'],
  1002: ['UNKNOWN_EMAIL', 'this Meross account does not exist (check the email for typos)'],
  1003: ['LOCKED', 'this Meross account has been disabled or deleted'],
  1004: ['WRONG_PASSWORD', 'wrong email or password'],
  1005: ['UNKNOWN_EMAIL', 'the Meross cloud says this is not a valid email address'],
  1006: ['WRONG_PASSWORD', 'the Meross cloud refused the password format (bad password format)'],
  1008: ['UNKNOWN_EMAIL', 'this email is not a Meross account (check it for typos)'],
  1019: ['TOKEN_EXPIRED', 'the stored Meross sign-in is no longer valid (token invalid)'],
  1022: ['TOKEN_EXPIRED', 'the stored Meross sign-in is no longer valid (token error)'],
  1028: ['TOO_FREQUENT', 'the Meross cloud refused: requested too frequently, try again in a while'],
  1030: ['BAD_REPLY', 'the Meross cloud says this account lives in another region'],
  1031: ['REFUSED', 'the Meross cloud refused: the user name does not match this account'],
  1032: ['WRONG_MFA_CODE', 'the one-time code (MFA) was wrong or has expired'],
  1033: ['MFA_REQUIRED', 'this Meross account uses two-factor sign-in (MFA), so it needs a one-time code'],
  1035: ['LOCKED', 'the Meross account is locked or disabled; open the Meross app to unlock it'],
  1041: ['TOO_FREQUENT', 'the Meross cloud refused: repeated check-in, try again in a while'],
  1042: ['TOO_FREQUENT', 'the Meross cloud refused: API limit reached for this account, try again later'],
  1043: ['REFUSED', 'the Meross cloud refused: access to this resource is denied'],
  1200: ['TOKEN_EXPIRED', 'the stored Meross sign-in has expired'],
  1201: ['REFUSED', 'the Meross cloud could not issue a sign-in token; try again later'],
  1301: ['TOO_MANY_TOKENS', 'too many active sign-ins on this Meross account; sign out of unused apps (or run `meross-lan logout`) and try again'],
};

/** Maps a non-zero `apiStatus` (protocol.md §5; the peers' lists) to an error the user can act on. */
export function cloudStatusError(apiStatus: number, info?: string): CloudError {
  const known = Object.hasOwn(STATUSES, apiStatus) ? STATUSES[apiStatus] : undefined;
  if (known) return new CloudError(known[0], known[1], apiStatus);
  // `info` is the cloud's own short text; it is shown trimmed and on one line, never anything we sent.
  const detail = typeof info === 'string' && info.trim() ? `: ${info.replace(/\s+/g, ' ').trim().slice(0, 80)}` : '';
  return new CloudError('REFUSED', `the Meross cloud refused the request (status ${apiStatus}${detail})`, apiStatus);
}

/**
 * The same status answering a call made with a token: a dead-token status (DEAD_TOKEN_STATUSES) is TOKEN_EXPIRED
 * whatever it would mean at sign-in, so the caller signs in again instead of retrying the token.
 */
export function cloudTokenStatusError(apiStatus: number, info?: string): CloudError {
  if (!DEAD_TOKEN_STATUSES.has(apiStatus)) return cloudStatusError(apiStatus, info);
  const named = cloudStatusError(apiStatus, info);
  const message = named.code === 'TOKEN_EXPIRED' ? named.message : `the stored Meross sign-in is no longer accepted (status ${apiStatus}: ${named.message})`;
  return new CloudError('TOKEN_EXPIRED', message, apiStatus);
}

/**
 * "Meross cloud: <what happened>", for log lines and the settings UI, without saying "Meross cloud" twice when the
 * message already starts with "the Meross cloud …".
 */
export function cloudText(message: string): string {
  return /^the Meross cloud\b/i.test(message) ? `${message.charAt(0).toUpperCase()}${message.slice(1)}` : `Meross cloud: ${message}`;
}
