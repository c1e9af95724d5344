/**
 * The phi-accrual failure detector (Hayashibara et al., 2004) for one monitored node, in the
 * form Akka uses. Pure: no timers and no clock; every time is passed in, in milliseconds.
 *
 * What phi means. The detector keeps the last `windowSize` intervals between heartbeats and
 * models the next interval as a normal distribution with their mean and standard deviation.
 * `phi(now)` answers: "if the node were alive, how unlikely is it that its next heartbeat is
 * still not here after this long?", on a log scale:
 *
 *   phi = -log10( P(interval > now - lastHeartbeat) )
 *
 * phi = 1 means a live node is this late one time in 10, phi = 8 one time in 10^8. Declaring
 * a node down when phi ≥ threshold therefore bounds the chance that the verdict is a false
 * alarm by 10^-threshold per check (as far as the model holds). Unlike a fixed timeout, phi
 * adapts: a node whose heartbeats arrive slowly or irregularly builds a wider distribution
 * and earns more patience.
 *
 * Two margins keep a LAN's hiccups (a GC pause, a lost gossip message) from tripping it:
 * - `acceptablePauseMs` (default 600) is added to the mean: a pause this long costs nothing.
 * - `minStdDeviationMs` (default 100) keeps the curve from becoming a cliff when heartbeats
 *   are very regular (a standard deviation near 0 would make a few ms of lateness fatal).
 *
 * Consequences of the defaults with a heartbeat every 500 ms (mean 500 + 600, std 100):
 *
 *   silence    1.0 s   1.5 s   1.6 s   1.65 s  1.7 s   2.0 s
 *   phi        0.1     4.7     7.3     8.9     10.8    28.6
 *
 * so losing one or two heartbeats in a row (a silence of 1.0–1.5 s) stays well below a
 * threshold of 8, while a node silent for ~1.65 s crosses it: a cut link or a dead agent is
 * declared down within 2 s. Before any interval has been measured, the window holds two
 * made-up intervals, expected ± expected/4 (Akka's bootstrap): the detector starts out
 * assuming `expectedIntervalMs` (default 500) with std 125, so a node that sent one heartbeat
 * and died is still declared down, at about 1.75 s of silence. Real intervals push the two
 * made-up ones out of the window.
 *
 * The tail uses the logistic approximation of the normal distribution that Akka uses,
 * P(X > t) ≈ 1 / (1 + e^z) with z = y·(1.5976 + 0.070566·y²) and y = (t − mean) / std
 * (error below 1.4·10^-4), computed as log10(1 + e^z) without forming e^z, so phi grows
 * smoothly without overflow or a jump to Infinity however long the silence.
 */
import { InvalidArgumentError } from '../../errors.js';

export interface PhiOptions {
  /** The heartbeat interval assumed until real intervals have been measured. Default 500. */
  expectedIntervalMs?: number;
  /** Lower bound on the standard deviation. Default 100. */
  minStdDeviationMs?: number;
  /** Added to the mean interval: a pause this long is free. Default 600. */
  acceptablePauseMs?: number;
  /** How many intervals the window keeps. Default 100. */
  windowSize?: number;
}

interface PhiSettings {
  expectedIntervalMs: number;
  minStdDeviationMs: number;
  acceptablePauseMs: number;
  windowSize: number;
}

export const PHI_DEFAULTS: Readonly<PhiSettings> = Object.freeze({
  expectedIntervalMs: 500,
  minStdDeviationMs: 100,
  acceptablePauseMs: 600,
  windowSize: 100,
});

export function phiSettings(options: PhiOptions = {}): PhiSettings {
  const settings: PhiSettings = { ...PHI_DEFAULTS };
  for (const key of Object.keys(PHI_DEFAULTS) as (keyof PhiSettings)[]) {
    const value = options[key];
    if (value !== undefined) settings[key] = value;
  }
  if (!(settings.expectedIntervalMs > 0))
    throw new InvalidArgumentError('expectedIntervalMs must be > 0');
  if (!(settings.minStdDeviationMs > 0))
    throw new InvalidArgumentError('minStdDeviationMs must be > 0');
  if (!(settings.acceptablePauseMs >= 0))
    throw new InvalidArgumentError('acceptablePauseMs must be ≥ 0');
  if (!Number.isInteger(settings.windowSize) || settings.windowSize < 2) {
    throw new InvalidArgumentError('windowSize must be an integer ≥ 2');
  }
  return settings;
}

export class PhiAccrualDetector {
  private readonly settings: PhiSettings;
  private readonly window: number[] = [];
  /** Index of the oldest interval once the window is full. */
  private oldest = 0;
  private sum = 0;
  private sumOfSquares = 0;
  /** When the last heartbeat arrived (or watching began); undefined before either. */
  private lastMs: number | undefined;
  /** Whether `lastMs` is a heartbeat, so the next heartbeat measures a real interval. */
  private lastIsHeartbeat = false;

  constructor(options: PhiOptions = {}) {
    this.settings = phiSettings(options);
    const expected = this.settings.expectedIntervalMs;
    this.push(expected - expected / 4);
    this.push(expected + expected / 4);
  }

  /**
   * Starts the clock without a heartbeat: phi grows from `nowMs` as if one had arrived there,
   * and the next heartbeat is not measured against it. For a node that has not sent anything
   * yet (it just joined, or this manager just became leader).
   */
  watchFrom(nowMs: number): void {
    this.lastMs = nowMs;
    this.lastIsHeartbeat = false;
  }

  /**
   * A heartbeat arrived at `nowMs`. The time since the previous one becomes a sample of the
   * interval unless `sample` is false: the caller passes false when the gap was an outage (the
   * node had been declared down), which says nothing about how often a live node beats and
   * would leave the detector slow to notice the next failure.
   */
  heartbeat(nowMs: number, options: { sample?: boolean } = {}): void {
    const last = this.lastMs;
    if (last !== undefined && nowMs < last) return; // a clock that went backwards: keep the later
    if (last !== undefined && this.lastIsHeartbeat && options.sample !== false) {
      this.push(nowMs - last);
    }
    this.lastMs = nowMs;
    this.lastIsHeartbeat = true;
  }

  /** The suspicion level at `nowMs`; 0 before the first heartbeat or `watchFrom`. */
  phi(nowMs: number): number {
    if (this.lastMs === undefined) return 0;
    const elapsed = Math.max(0, nowMs - this.lastMs);
    return phiOf(elapsed, this.mean() + this.settings.acceptablePauseMs, this.stdDeviation());
  }

  /** When the last heartbeat arrived, if any since watching began. */
  lastHeartbeatMs(): number | undefined {
    return this.lastIsHeartbeat ? this.lastMs : undefined;
  }

  /** The mean of the intervals in the window (without the acceptable pause). */
  mean(): number {
    return this.sum / this.window.length;
  }

  /** The standard deviation of the window, at least `minStdDeviationMs`. */
  stdDeviation(): number {
    const mean = this.mean();
    const variance = Math.max(0, this.sumOfSquares / this.window.length - mean * mean);
    return Math.max(Math.sqrt(variance), this.settings.minStdDeviationMs);
  }

  private push(intervalMs: number): void {
    if (this.window.length < this.settings.windowSize) {
      this.window.push(intervalMs);
    } else {
      const dropped = this.window[this.oldest]!;
      this.sum -= dropped;
      this.sumOfSquares -= dropped * dropped;
      this.window[this.oldest] = intervalMs;
      this.oldest = (this.oldest + 1) % this.settings.windowSize;
      if (this.oldest === 0) {
        // Once per lap, start the running sums afresh so rounding errors cannot accumulate.
        this.sum = 0;
        this.sumOfSquares = 0;
        for (const value of this.window) {
          this.sum += value;
          this.sumOfSquares += value * value;
        }
        return;
      }
    }
    this.sum += intervalMs;
    this.sumOfSquares += intervalMs * intervalMs;
  }
}

/**
 * phi for a silence of `elapsedMs` under a normal distribution (mean, std), with the
 * logistic approximation of its tail: -log10(1 / (1 + e^z)) = log10(1 + e^z).
 */
export function phiOf(elapsedMs: number, meanMs: number, stdDeviationMs: number): number {
  const y = (elapsedMs - meanMs) / stdDeviationMs;
  const z = y * (1.5976 + 0.070566 * y * y);
  // log(1 + e^z) without overflow for large z nor loss of precision for very negative z.
  const softplus = z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
  return softplus / Math.LN10;
}
