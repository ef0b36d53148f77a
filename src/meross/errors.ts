/**
 * Typed errors a caller can act on. Every message names the host; none ever contains the device key
 * (the constructor takes no key at all, so it cannot leak by accident).
 */
export type MerossErrorCode =
  | 'WRONG_KEY'
  | 'TIMEOUT'
  | 'UNREACHABLE'
  | 'CONNECTION_DROPPED'
  | 'MALFORMED_REPLY'
  | 'REPLY_TOO_LARGE'
  | 'WRONG_DEVICE'
  | 'DEVICE_ERROR'
  | 'UNSUPPORTED';

export abstract class MerossError extends Error {
  abstract readonly code: MerossErrorCode;
  /** Whether retrying the same request may help (GETs only are ever retried). */
  readonly retryable: boolean = false;
  constructor(
    readonly host: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class WrongKeyError extends MerossError {
  readonly code = 'WRONG_KEY';
  constructor(
    host: string,
    readonly uuid?: string,
  ) {
    super(
      host,
      `${host}: the plug rejected the device key (error 5001 "sign error"). ` +
        'Set the right key for this plug (the key of the Meross account it is bound to, or the key it was paired with).',
    );
  }
}

export class TimeoutError extends MerossError {
  readonly code = 'TIMEOUT';
  override readonly retryable = true;
  constructor(host: string, timeoutMs: number) {
    super(host, `${host}: no reply within ${(timeoutMs / 1000).toFixed(1)} s; check that the plug is powered and on the network.`);
  }
}

export class UnreachableError extends MerossError {
  readonly code = 'UNREACHABLE';
  override readonly retryable = true;
  constructor(
    host: string,
    readonly reason: string,
  ) {
    super(host, `${host}: cannot connect (${reason}); check the address and that the plug is on the network.`);
  }
}

/** The plug accepted the connection and closed it without an answer: its reaction to oversize replies. */
export class ConnectionDroppedError extends MerossError {
  readonly code = 'CONNECTION_DROPPED';
  override readonly retryable = true;
  constructor(host: string, detail = 'the plug closed the connection without a reply') {
    super(host, `${host}: ${detail}.`);
  }
}

export class MalformedReplyError extends MerossError {
  readonly code = 'MALFORMED_REPLY';
  override readonly retryable = true;
  constructor(host: string, detail: string) {
    super(host, `${host}: malformed reply (${detail}).`);
  }
}

export class ReplyTooLargeError extends MerossError {
  readonly code = 'REPLY_TOO_LARGE';
  constructor(host: string, limit: number) {
    super(host, `${host}: reply larger than ${limit} bytes; refusing to read it (is this really a Meross plug?).`);
  }
}

export class WrongDeviceError extends MerossError {
  readonly code = 'WRONG_DEVICE';
  constructor(
    host: string,
    readonly expectedUuid: string,
    readonly actualUuid: string,
  ) {
    super(
      host,
      `${host}: a different Meross device (${actualUuid}) now answers at this address instead of ${expectedUuid}; ` +
        'it will not be controlled. Give the plug a fixed IP address in your router, or update its host in the config.',
    );
  }
}

export class DeviceError extends MerossError {
  readonly code = 'DEVICE_ERROR';
  constructor(
    host: string,
    readonly deviceCode: number | undefined,
    namespace: string,
  ) {
    super(host, `${host}: the plug refused ${namespace} (error ${deviceCode ?? 'unknown'}).`);
  }
}

export class UnsupportedError extends MerossError {
  readonly code = 'UNSUPPORTED';
  constructor(host: string, what: string) {
    super(host, `${host}: ${what}.`);
  }
}

export function isMerossError(e: unknown): e is MerossError {
  return e instanceof MerossError;
}
