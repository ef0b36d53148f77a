import { MerossClient, type ClientOptions } from '../meross/client';
import type { Json } from '../meross/decode';
import { UnreachableError } from '../meross/errors';
import type { Method } from '../meross/envelope';

/** Placeholder host of a plug whose address is not known yet; never resolved or contacted. */
export const UNPLACED_HOST = 'address-unknown';

class AddressUnknownError extends UnreachableError {
  constructor(label: string) {
    super(label, 'address not known yet');
    this.message = 'its address is not known yet; searching the LAN for it.';
  }
}

/**
 * The client of a plug known by uuid only (a uuid-only config entry, a cloud plug never seen on the LAN): every
 * request fails at once, without touching the network, until the plug is moved to a real address. The plug model
 * then reports it unreachable (No Response in HomeKit) like any other plug that cannot be reached.
 */
export class UnplacedClient extends MerossClient {
  constructor(options: ClientOptions) {
    super({ ...options, host: UNPLACED_HOST });
  }

  override request(_namespace: string, _method: Method, _payload: Json): Promise<Json> {
    return Promise.reject(new AddressUnknownError(this.label));
  }
}
