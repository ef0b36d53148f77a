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

/** Maps a non-zero `apiStatus` (protocol.md §5; MerossIot's list) to an error the user can act on. */
export function cloudStatusError(apiStatus: number, info?: string): CloudError {
  switch (apiStatus) {
    case 1033:
      return new CloudError('MFA_REQUIRED', 'this Meross account uses two-factor sign-in (MFA), so it needs a one-time code', apiStatus);
    case 1032:
      return new CloudError('WRONG_MFA_CODE', 'the one-time code (MFA) was wrong or has expired', apiStatus);
    case 1001:
    case 1004:
      return new CloudError('WRONG_PASSWORD', 'wrong email or password', apiStatus);
    case 1000:
    case 1002:
    case 1005:
    case 1008:
      return new CloudError('UNKNOWN_EMAIL', 'this email is not a Meross account (check it for typos)', apiStatus);
    case 1003:
    case 1035:
      return new CloudError('LOCKED', 'the Meross account is locked or disabled; open the Meross app to unlock it', apiStatus);
    case 1028:
    case 1042:
      return new CloudError('TOO_FREQUENT', 'the Meross cloud refused: too many requests, try again in a while', apiStatus);
    case 1301:
      return new CloudError('TOO_MANY_TOKENS', 'too many active sign-ins on this Meross account; sign out of unused apps and try again', apiStatus);
    case 1019:
    case 1022:
    case 1200:
      return new CloudError('TOKEN_EXPIRED', 'the stored Meross sign-in has expired', apiStatus);
    default: {
      // `info` is the cloud's own short text; it is shown trimmed and on one line, never anything we sent.
      const detail = typeof info === 'string' && info.trim() ? `: ${info.replace(/\s+/g, ' ').trim().slice(0, 80)}` : '';
      return new CloudError('REFUSED', `the Meross cloud refused the request (status ${apiStatus}${detail})`, apiStatus);
    }
  }
}
