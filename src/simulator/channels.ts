/**
 * The relays of a simulated plug, by ToggleX channel. A single plug has channel 0 only. A power strip has outlet
 * channels 1..N and a master channel 0, which the firmware ties to the outlets:
 *
 * - switching channel 0 switches every outlet (MerossIot issue #44 for the MSS620: "If you turn on/off channel 0,
 *   both Switch 1 and 2 will be affected"; bwp91/homebridge-meross `lib/device/outlet-multi.js`, which on a
 *   channel-0 SET sets every sub-accessory to the same value);
 * - channel 0 reads on while any outlet is on (homebridge-meross `outlet-multi.js` `applyUpdate`: the master is the
 *   OR of channels 1..N). The real MSS425E digest in TerrariumPI issue #276 fits this: every channel off and the
 *   master's `lmTime` equal to the last outlet's, i.e. the master went off with the last outlet.
 *
 * Each channel keeps its own `lmTime` (MerossIot `tests/fixtures/handle_update/mss425e.json`: five channels, five
 * times), which moves only when that channel changes.
 */
export interface ChannelState {
  on: boolean;
  /** Device seconds of the channel's last change. */
  lmTime: number;
}

export interface DigestItem {
  channel: number;
  onoff: 0 | 1;
  lmTime: number;
}

export class Relays {
  /** Every channel the device lists, master first: `[0]`, or `[0, 1, …, outlets]`. */
  readonly channels: readonly number[];
  private readonly state = new Map<number, ChannelState>();

  /** `outlets` 0: a single plug (channel 0 only). */
  constructor(outlets: number, on: boolean, lmTime: number) {
    this.channels = Array.from({ length: outlets + 1 }, (_, i) => i);
    for (const channel of this.channels) this.state.set(channel, { on, lmTime });
  }

  get isStrip(): boolean {
    return this.channels.length > 1;
  }

  has(channel: number): boolean {
    return this.state.has(channel);
  }

  isOn(channel = 0): boolean {
    return this.get(channel).on;
  }

  lmTime(channel = 0): number {
    return this.get(channel).lmTime;
  }

  item(channel: number): DigestItem {
    const s = this.get(channel);
    return { channel, onoff: s.on ? 1 : 0, lmTime: s.lmTime };
  }

  /** The digest list of System.All: every channel, in channel order. */
  digest(): DigestItem[] {
    return this.channels.map((c) => this.item(c));
  }

  /**
   * Switches `channel` as the firmware would; returns the channels whose state changed (ascending), each with its
   * `lmTime` set to `now`. Nothing changes when the channel is already so.
   */
  set(channel: number, on: boolean, now: number): number[] {
    const before = this.channels.map((c) => this.isOn(c));
    if (!this.isStrip) {
      this.get(0).on = on;
    } else if (channel === 0) {
      for (const c of this.channels) this.get(c).on = on;
    } else {
      this.get(channel).on = on;
      this.get(0).on = this.channels.some((c) => c !== 0 && this.isOn(c));
    }
    const changed = this.channels.filter((c, i) => before[i] !== this.isOn(c));
    for (const c of changed) this.get(c).lmTime = now;
    return changed;
  }

  private get(channel: number): ChannelState {
    const s = this.state.get(channel);
    if (!s) throw new RangeError(`no channel ${channel} (channels: ${this.channels.join(', ')})`);
    return s;
  }
}
