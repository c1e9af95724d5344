import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../../src/errors.js';
import { PhiAccrualDetector, phiOf } from '../../../../src/manager/health/phi.js';

/** A detector that has seen `count` heartbeats every `intervalMs`, the last one at the end. */
function steady(intervalMs: number, count: number): { detector: PhiAccrualDetector; last: number } {
  const detector = new PhiAccrualDetector();
  for (let i = 0; i < count; i++) detector.heartbeat(i * intervalMs);
  return { detector, last: (count - 1) * intervalMs };
}

describe('phiOf', () => {
  it('matches the table in phi.ts for mean 500 + 600 and std 100', () => {
    const phi = (silenceMs: number): number => phiOf(silenceMs, 1100, 100);
    expect(phi(1000)).toBeCloseTo(0.08, 2);
    expect(phi(1500)).toBeCloseTo(4.74, 2);
    expect(phi(1600)).toBeCloseTo(7.3, 1);
    expect(phi(1650)).toBeCloseTo(8.91, 2);
    expect(phi(1700)).toBeCloseTo(10.78, 2);
    expect(phi(2000)).toBeCloseTo(28.59, 2);
  });

  it('is about -log10 of the normal tail (0.5 at the mean, 1.3% two stds out)', () => {
    expect(phiOf(1100, 1100, 100)).toBeCloseTo(Math.log10(2), 10);
    // P(Z > 2) = 0.02275; the logistic approximation is within 1.4e-4 of it.
    expect(10 ** -phiOf(1300, 1100, 100)).toBeCloseTo(0.02275, 3);
  });

  it('grows without a jump to Infinity and stays finite and non-negative at the extremes', () => {
    let previous = -1;
    for (let t = 0; t <= 100_000; t += 50) {
      const value = phiOf(t, 1100, 100);
      expect(Number.isFinite(value)).toBe(true);
      expect(value).toBeGreaterThanOrEqual(previous);
      previous = value;
    }
    expect(Number.isFinite(phiOf(1e12, 1100, 100))).toBe(true);
    expect(phiOf(-1e12, 1100, 100)).toBe(0);
  });
});

describe('PhiAccrualDetector', () => {
  it('is 0 before anything arrived', () => {
    expect(new PhiAccrualDetector().phi(1_000_000)).toBe(0);
  });

  it('assumes the expected interval (std expected/4) before any is measured', () => {
    const detector = new PhiAccrualDetector();
    expect(detector.mean()).toBe(500);
    expect(detector.stdDeviation()).toBe(125);
    detector.heartbeat(10_000);
    // One heartbeat and then silence: crosses 8 between 1.7 and 1.8 s.
    expect(detector.phi(11_700)).toBeLessThan(8);
    expect(detector.phi(11_800)).toBeGreaterThan(8);
  });

  it('also runs from watchFrom, without counting that moment as an interval', () => {
    const detector = new PhiAccrualDetector();
    detector.watchFrom(0);
    expect(detector.lastHeartbeatMs()).toBeUndefined();
    expect(detector.phi(1800)).toBeGreaterThan(8);
    detector.heartbeat(5000);
    expect(detector.mean()).toBe(500); // still only the two assumed intervals
    expect(detector.lastHeartbeatMs()).toBe(5000);
    expect(detector.phi(5000)).toBeLessThan(1e-6);
  });

  it('keeps losing one or two heartbeats below 8 and crosses it at ~1.65 s of silence', () => {
    const { detector, last } = steady(500, 200);
    expect(detector.mean()).toBe(500);
    expect(detector.stdDeviation()).toBe(100); // the floor: the real spread is 0
    expect(detector.phi(last + 1000)).toBeLessThan(1);
    expect(detector.phi(last + 1500)).toBeLessThan(5);
    expect(detector.phi(last + 1600)).toBeLessThan(8);
    expect(detector.phi(last + 1700)).toBeGreaterThan(8);
  });

  it('slides its window: old intervals, the assumed ones included, leave it', () => {
    const detector = new PhiAccrualDetector({ windowSize: 10 });
    let t = 0;
    detector.heartbeat(t);
    for (let i = 0; i < 10; i++) {
      t += 900;
      detector.heartbeat(t);
    }
    expect(detector.mean()).toBe(900);
    for (let i = 0; i < 5; i++) {
      t += 400;
      detector.heartbeat(t);
    }
    expect(detector.mean()).toBe(650);
    expect(detector.stdDeviation()).toBe(250);
  });

  it('adapts to a slower node: what trips a fast one is patience for the slow one', () => {
    const fast = steady(500, 100);
    const slow = steady(1500, 100);
    expect(fast.detector.phi(fast.last + 2000)).toBeGreaterThan(20);
    expect(slow.detector.phi(slow.last + 2000)).toBeLessThan(1);
  });

  it('does not take an outage (sample: false) as an interval', () => {
    const { detector, last } = steady(500, 50);
    detector.heartbeat(last + 60_000, { sample: false });
    expect(detector.mean()).toBe(500);
    detector.heartbeat(last + 60_500);
    expect(detector.mean()).toBe(500);
    expect(detector.phi(last + 60_500 + 1700)).toBeGreaterThan(8);
  });

  it('ignores a heartbeat stamped before the last one', () => {
    const { detector, last } = steady(500, 20);
    detector.heartbeat(last - 300);
    expect(detector.lastHeartbeatMs()).toBe(last);
    expect(detector.mean()).toBe(500);
    expect(detector.phi(last - 1000)).toBeLessThan(1e-6); // and a "now" in the past: no crash
  });

  it('keeps its running sums exact over many laps of the window', () => {
    const detector = new PhiAccrualDetector({ windowSize: 7 });
    let t = 0;
    const intervals: number[] = [];
    detector.heartbeat(t);
    for (let i = 0; i < 10_000; i++) {
      const interval = 500 + ((i * 37) % 101) / 3; // fractional, so rounding could creep in
      intervals.push(interval);
      t += interval;
      detector.heartbeat(t);
    }
    const window = intervals.slice(-7);
    const mean = window.reduce((a, b) => a + b, 0) / window.length;
    expect(detector.mean()).toBeCloseTo(mean, 6);
  });

  it('refuses nonsensical options', () => {
    expect(() => new PhiAccrualDetector({ expectedIntervalMs: 0 })).toThrow(InvalidArgumentError);
    expect(() => new PhiAccrualDetector({ minStdDeviationMs: -1 })).toThrow(InvalidArgumentError);
    expect(() => new PhiAccrualDetector({ acceptablePauseMs: Number.NaN })).toThrow(
      InvalidArgumentError,
    );
    expect(() => new PhiAccrualDetector({ windowSize: 1 })).toThrow(InvalidArgumentError);
    expect(() => new PhiAccrualDetector({ windowSize: 2.5 })).toThrow(InvalidArgumentError);
  });
});
