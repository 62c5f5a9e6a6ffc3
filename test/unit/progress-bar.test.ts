// The CLI's progress line: figures a user reads, and a display that leaves nothing behind.
import { describe, expect, it } from 'vitest';
import { TerminalProgress, progressLine } from '../../node-app/cli/progress-bar.js';

describe('progressLine', () => {
  it('shows the bar, %, bytes, rate and ETA for a known size', () => {
    // 2.5 MB of 10 MB in 10 s: 2.0 Mbit/s, 7.5 MB left at 0.25 MB/s = 30 s.
    expect(progressLine({ bytes: 2_500_000, total: 10_000_000, elapsedMs: 10_000 })).toBe(
      '██████░░░░░░░░░░░░░░░░░░  25% 2.5/10.0 MB 2.0 Mbit/s ETA 30s',
    );
    expect(progressLine({ bytes: 1_000_000, total: 100_000_000, elapsedMs: 8_000, detail: 'x' })).toMatch(
      / 1% 1\.0\/100\.0 MB 1\.0 Mbit\/s ETA 13m12s {2}x$/,
    );
  });

  it('drops %, bar and ETA while the size is unknown (live)', () => {
    expect(progressLine({ bytes: 3_000_000, total: null, elapsedMs: 12_000 })).toBe('3.0 MB 2.0 Mbit/s (live)');
  });

  it('has no ETA once everything arrived', () => {
    expect(progressLine({ bytes: 5, total: 5, elapsedMs: 1 })).not.toMatch(/ETA/);
  });
});

describe('TerminalProgress', () => {
  const fake = () => {
    let text = '';
    let now = 0;
    return {
      out: { write: (s: string) => ((text += s), true) } as unknown as NodeJS.WritableStream,
      text: () => text,
      tick: (ms: number) => (now += ms),
      now: () => now,
    };
  };

  it('redraws at most every 100 ms, prints lines above the bar, and erases it on clear', () => {
    const t = fake();
    const p = new TerminalProgress(t.out, t.now);
    t.tick(1000);
    p.update({ bytes: 100, total: 1000 });
    p.update({ bytes: 200, total: 1000 });
    expect(t.text().match(/\r/g)).toHaveLength(1);
    p.log('failover: a → b');
    expect(t.text()).toMatch(/\r\x1b\[Kfailover: a → b\n\r.*20%/);
    p.clear();
    p.clear();
    expect(t.text().endsWith('\r\x1b[K')).toBe(true);
    expect(t.text().split('\r\x1b[K').length).toBe(3);
  });

  it('fits the line to an 80-column terminal: it never wraps (a wrapped line left a row behind at every redraw)', () => {
    const t = fake();
    Object.assign(t.out, { columns: 80 });
    const p = new TerminalProgress(t.out, t.now);
    t.tick(1000);
    p.update({ bytes: 3_100_000, total: 7_400_000, detail: 'fra-1* 42% acked · iad-1 40% acked · sin-1 38% acked' });
    const drawn = t
      .text()
      .replace(/^\r/, '')
      .replace(/\x1b\[K$/, '');
    expect([...drawn].length).toBeLessThan(80);
    expect(drawn.endsWith('…')).toBe(true);
  });
});
