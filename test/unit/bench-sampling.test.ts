// Benchmark sampling helpers: percentiles by linear interpolation between closest ranks, and alternating contenders.
import { describe, expect, it } from 'vitest';
import { alternating, percentile } from '../../bench/sampling.js';

describe('percentile', () => {
  it('interpolates between closest ranks, whatever the input order', () => {
    expect(percentile([40, 10, 30, 20], 50)).toBe(25);
    expect(percentile([10, 20, 30, 40], 0)).toBe(10);
    expect(percentile([10, 20, 30, 40], 100)).toBe(40);
    expect(percentile([10, 20, 30, 40], 90)).toBeCloseTo(37);
  });

  it('is NaN without samples', () => {
    expect(percentile([], 50)).toBeNaN();
  });
});

describe('alternating', () => {
  it('runs each n times, the first to go swapping every round', async () => {
    const order: string[] = [];
    await alternating(
      3,
      async (i) => void order.push(`a${i}`),
      async (i) => void order.push(`b${i}`),
    );
    expect(order).toEqual(['a0', 'b0', 'b1', 'a1', 'a2', 'b2']);
  });
});
