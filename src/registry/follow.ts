import { UNPLACED_HOST, type Locatable, type Locator, type LostReason } from '../discovery';
import { WrongDeviceError, WrongKeyError } from '../meross/errors';
import type { Plug } from '../plug/plug';

/**
 * IP following: adapts each plug model to the locator (discovery knows no plug model) and feeds it the plug's
 * reachability, so a scan that finds the plug's uuid at another address moves it there. `onMoved` runs after each
 * move (the registry remembers the new address for the next start).
 */
export class PlugFollower {
  private readonly targets = new Map<Plug, Locatable>();

  constructor(
    private readonly locator: Locator,
    private readonly onMoved: (plug: Plug, address: string) => void = () => undefined,
  ) {}

  follow(plug: Plug): void {
    if (this.targets.has(plug)) return;
    const target: Locatable = {
      get name() {
        return plug.name;
      },
      get uuid() {
        return plug.uuid;
      },
      get address() {
        return plug.address === UNPLACED_HOST ? undefined : plug.address;
      },
      moveTo: (address) => {
        plug.moveTo(address);
        this.onMoved(plug, address);
      },
    };
    this.targets.set(plug, target);
    this.locator.track(target);
    plug.on('reachability', (state, error) => {
      if (!this.targets.has(plug)) return;
      if (state === 'online') return this.locator.recovered(target);
      if (state !== 'offline') return;
      let reason: LostReason = 'unreachable';
      if (plug.address === UNPLACED_HOST) reason = 'no-address';
      else if (error instanceof WrongDeviceError) reason = 'wrong-device';
      else if (error instanceof WrongKeyError) {
        // A 5001 naming another uuid is another plug at this address; naming this one, the key is wrong here.
        if (error.uuid === undefined || plug.uuid === undefined || error.uuid === plug.uuid) return;
        reason = 'wrong-device';
      }
      this.locator.lost(target, reason);
    });
  }

  /** Stops following a plug the registry no longer runs. */
  unfollow(plug: Plug): void {
    const target = this.targets.get(plug);
    if (target) this.locator.untrack(target);
    this.targets.delete(plug);
  }
}
