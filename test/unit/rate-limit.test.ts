// KeyedRateLimiter: one token bucket per client IP, and never more than maxKeys of them.
import { describe, expect, it } from 'vitest';
import { KeyedRateLimiter, WorkBudget } from '../../common/token-bucket.js';

describe('KeyedRateLimiter', () => {
  it("limits each key on its own: one flooding IP does not spend another one's tokens", () => {
    const l = new KeyedRateLimiter(10, 5);
    const a = Array.from({ length: 20 }, () => l.take('10.0.0.1', 0)).filter(Boolean).length;
    expect(a).toBe(5);
    expect(l.take('10.0.0.2', 0)).toBe(true);
    // Refills at 10/s: 100 ms later one more.
    expect(l.take('10.0.0.1', 100)).toBe(true);
    expect(l.take('10.0.0.1', 100)).toBe(false);
  });

  it('keeps at most maxKeys buckets, forgetting the least recently used', () => {
    const l = new KeyedRateLimiter(1, 1, 1_000);
    for (let i = 0; i < 50_000; i++) l.take(`ip-${i}`, 0);
    expect(l.size).toBe(1_000);
    // ip-49999 is remembered (its bucket is empty); ip-0 was forgotten (a fresh, full bucket).
    expect(l.take('ip-49999', 0)).toBe(false);
    expect(l.take('ip-0', 0)).toBe(true);
  });
});

describe('WorkBudget', () => {
  it('admits work while not in debt, charges what it took, and holds later work until the debt is repaid', () => {
    const b = new WorkBudget(0, 250, 500);
    // Costly calls (3 ms each) from one instant: admitted until the 500-ms burst is spent, then refused.
    let admitted = 0;
    while (b.admit(0)) {
      b.charge(3);
      admitted++;
    }
    expect(admitted).toBe(167);
    // In debt by 1 ms: refused until 250 ms/s repaid it (4 ms later), then admitted again.
    expect(b.admit(3)).toBe(false);
    expect(b.admit(5)).toBe(true);
    // Over a second of time, no more work than 250 ms of it admitted (plus one call's overrun).
    let worked = 0;
    for (let t = 5; t <= 1005; t += 0.5) {
      if (!b.admit(t)) continue;
      b.charge(3);
      worked += 3;
    }
    expect(worked).toBeLessThanOrEqual(250 + 3 + 3);
    expect(worked).toBeGreaterThan(240);
  });
});
