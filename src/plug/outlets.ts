/**
 * Which of a plug's relay channels are outlets (issue #16). A single plug lists one relay, channel 0: that is its
 * outlet. A strip (MSS420/425/426, MSS620/630, MSS120 …) lists its master, channel 0, beside outlets 1..N; the master
 * switches every outlet and reads on while any is on (the incumbent homebridge-meross treats strips this way), so
 * it is not an outlet of its own.
 */
export function outletChannels(relays: Iterable<number>): number[] {
  const all = [...new Set(relays)].filter((c) => Number.isInteger(c) && c >= 0).sort((a, b) => a - b);
  if (all.length === 0) return [0];
  return all.length === 1 ? all : all.filter((c) => c !== 0);
}

/** What the Meross app calls one outlet of a strip (the cloud's `channels` list); USB outlets are marked. */
export interface OutletLabel {
  name: string;
  usb: boolean;
}

/** What an outlet is called: the Meross app's name (cloud sign-in), else "Outlet N" (or "USB"). */
export function outletName(channel: number, label: OutletLabel | undefined): string {
  return label?.name.trim() || (label?.usb ? 'USB' : `Outlet ${channel}`);
}

/**
 * The channels kept in the accessory cache (`{"1": true, "2": false}`): the outlets the plug had, with their last
 * state. Anything else (an older cache, hand edits) gives undefined.
 */
export function restoredOutlets(saved: unknown): Map<number, boolean> | undefined {
  if (typeof saved !== 'object' || saved === null || Array.isArray(saved)) return undefined;
  const out = new Map<number, boolean>();
  for (const [key, on] of Object.entries(saved)) {
    const channel = Number(key);
    if (!/^\d{1,2}$/.test(key) || typeof on !== 'boolean') return undefined;
    out.set(channel, on);
  }
  return out.size > 0 ? out : undefined;
}
