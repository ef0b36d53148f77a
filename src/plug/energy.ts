/**
 * Energy from power samples, time-weighted: each reading holds until the next one (sample and hold), so irregular
 * polls weigh by how long they stood, not by how often they came. It fills the gap between two reads of the plug's
 * meter, and is the whole estimate on firmware without ConsumptionX.
 */
export class PowerIntegrator {
  private last: { atMs: number; watts: number } | undefined;

  /** `maxHoldMs`: a reading older than this says nothing about the power since, so nothing is counted for it. */
  constructor(private readonly maxHoldMs: number) {}

  /** Records `watts` at `atMs`; returns the Wh used since the previous sample at that sample's power. */
  sample(atMs: number, watts: number): number {
    const previous = this.last;
    this.last = { atMs, watts: Number.isFinite(watts) && watts > 0 ? watts : 0 };
    if (!previous) return 0;
    const elapsed = atMs - previous.atMs;
    if (elapsed <= 0 || elapsed > this.maxHoldMs) return 0;
    return (previous.watts * elapsed) / 3_600_000;
  }

  /** The plug stopped answering: what it drew meanwhile is unknown, so the next sample starts afresh. */
  interrupt(): void {
    this.last = undefined;
  }
}
