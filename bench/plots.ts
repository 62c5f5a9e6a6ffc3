// SVG plots of the benchmark figures: small hand-written line, bar and histogram charts, no services.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Chart size in SVG user units (px). */
const WIDTH = 760;
const HEIGHT = 420;
const MARGIN = { top: 48, right: 200, bottom: 64, left: 72 };
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';

export interface Series {
  name: string;
  /** (x, y) pairs; drawn in ascending x. */
  points: readonly (readonly [number, number])[];
}

export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
}

export interface Bar {
  label: string;
  value: number;
  /** Drawn in the accent colour (the system under test). */
  highlight?: boolean;
}

export interface BarChart {
  title: string;
  yLabel: string;
  bars: readonly Bar[];
  /** A dashed horizontal line, e.g. the target. */
  reference?: { value: number; label: string };
  /** Digits after the point in the value labels. Default 2. */
  digits?: number;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fmt = (x: number, digits = 2) => (Math.abs(x) >= 1000 ? Math.round(x).toLocaleString('en-US') : String(+x.toFixed(digits)));

/** Tick values: 1, 2 or 5 × 10^k apart, covering [lo, hi], about `count` of them. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) hi = lo + 1;
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let t = Math.floor(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(+t.toPrecision(12));
  if (ticks[ticks.length - 1]! < hi) ticks.push(+(ticks[ticks.length - 1]! + step).toPrecision(12));
  return ticks;
}

function frame(title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" ${FONT} font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    `<text x="${WIDTH / 2}" y="26" text-anchor="middle" font-size="15" font-weight="600">${esc(title)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

/** Axes, grid and labels for a plot area; returns the SVG and the y mapping. */
function yAxis(yTicks: number[], yLabel: string): { svg: string[]; y: (v: number) => number } {
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const y0 = yTicks[0]!;
  const y1 = yTicks[yTicks.length - 1]!;
  const y = (v: number) => MARGIN.top + plotH - ((v - y0) / (y1 - y0)) * plotH;
  const svg: string[] = [];
  for (const t of yTicks) {
    svg.push(`<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#e5e5e5"/>`);
    svg.push(`<text x="${MARGIN.left - 8}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end" fill="#444">${esc(fmt(t, 3))}</text>`);
  }
  const cy = MARGIN.top + plotH / 2;
  svg.push(`<text x="18" y="${cy}" text-anchor="middle" transform="rotate(-90 18 ${cy})" fill="#222">${esc(yLabel)}</text>`);
  svg.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${HEIGHT - MARGIN.bottom}" stroke="#333"/>`);
  svg.push(
    `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${HEIGHT - MARGIN.bottom}" y2="${HEIGHT - MARGIN.bottom}" stroke="#333"/>`,
  );
  return { svg, y };
}

/** A line chart with point markers and a legend on the right. */
export function lineChart(c: LineChart): string {
  const xs = c.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = c.series.flatMap((s) => s.points.map((p) => p[1]));
  const xTicks = niceTicks(Math.min(0, ...xs), Math.max(...xs));
  const yTicks = niceTicks(Math.min(0, ...ys), Math.max(...ys));
  const { svg, y } = yAxis(yTicks, c.yLabel);
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const xa = xTicks[0]!;
  const xb = xTicks[xTicks.length - 1]!;
  const x = (v: number) => MARGIN.left + ((v - xa) / (xb - xa)) * plotW;
  for (const t of xTicks) {
    svg.push(`<text x="${x(t).toFixed(1)}" y="${HEIGHT - MARGIN.bottom + 18}" text-anchor="middle" fill="#444">${esc(fmt(t, 3))}</text>`);
  }
  svg.push(`<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 18}" text-anchor="middle" fill="#222">${esc(c.xLabel)}</text>`);
  c.series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const pts = [...s.points].sort((a, b) => a[0] - b[0]);
    const d = pts.map((p, k) => `${k === 0 ? 'M' : 'L'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ');
    svg.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const p of pts) svg.push(`<circle cx="${x(p[0]).toFixed(1)}" cy="${y(p[1]).toFixed(1)}" r="3" fill="${color}"/>`);
    const ly = MARGIN.top + 12 + i * 20;
    svg.push(
      `<line x1="${WIDTH - MARGIN.right + 14}" x2="${WIDTH - MARGIN.right + 34}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>`,
    );
    svg.push(`<text x="${WIDTH - MARGIN.right + 40}" y="${ly + 4}" fill="#222">${esc(s.name)}</text>`);
  });
  return frame(c.title, svg);
}

/** A bar chart with value labels, an accent colour for highlighted bars and an optional reference line. */
export function barChart(c: BarChart): string {
  const values = c.bars.map((b) => b.value).filter(Number.isFinite);
  const yTicks = niceTicks(Math.min(0, ...values), Math.max(c.reference?.value ?? 0, ...values) * 1.08);
  const { svg, y } = yAxis(yTicks, c.yLabel);
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const slot = plotW / Math.max(1, c.bars.length);
  const barW = Math.min(56, slot * 0.7);
  c.bars.forEach((b, i) => {
    const cx = MARGIN.left + slot * (i + 0.5);
    const v = Number.isFinite(b.value) ? b.value : 0;
    const top = y(Math.max(v, yTicks[0]!));
    const base = y(Math.max(0, yTicks[0]!));
    svg.push(
      `<rect x="${(cx - barW / 2).toFixed(1)}" y="${Math.min(top, base).toFixed(1)}" width="${barW.toFixed(1)}" height="${Math.abs(base - top).toFixed(1)}" fill="${b.highlight ? '#d62728' : '#1f77b4'}"/>`,
    );
    svg.push(
      `<text x="${cx.toFixed(1)}" y="${(Math.min(top, base) - 5).toFixed(1)}" text-anchor="middle" fill="#222">${esc(Number.isFinite(b.value) ? fmt(b.value, c.digits ?? 2) : 'n/a')}</text>`,
    );
    const ly = HEIGHT - MARGIN.bottom + 16;
    svg.push(
      `<text x="${cx.toFixed(1)}" y="${ly}" text-anchor="end" transform="rotate(-25 ${cx.toFixed(1)} ${ly})" fill="#444">${esc(b.label)}</text>`,
    );
  });
  if (c.reference) {
    const ry = y(c.reference.value).toFixed(1);
    svg.push(`<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${ry}" y2="${ry}" stroke="#333" stroke-dasharray="6 4"/>`);
    svg.push(`<text x="${WIDTH - MARGIN.right + 6}" y="${(+ry + 4).toFixed(1)}" fill="#333">${esc(c.reference.label)}</text>`);
  }
  return frame(c.title, svg);
}

const CACHE_CURVE = /^cache\.curve\.([^.]+)\.(zipf\d+)\.pct(\d+(?:[._]\d+)?)_storage_gbytes$/;

/**
 * Writes every plot the figures allow into `dir` and returns the file names.
 * Missing inputs skip their plot: a partial run still gets the others.
 */
export function writePlots(figures: Readonly<Record<string, unknown>>, dir: string): string[] {
  const written: string[] = [];
  const put = (name: string, svg: string) => {
    writeFileSync(join(dir, name), svg);
    written.push(name);
  };
  const num = (k: string) => (typeof figures[k] === 'number' ? (figures[k] as number) : undefined);
  const scale = num('lb.sim_requests') ? ` — ${fmt(num('lb.sim_requests')!)} requests, ${num('lb.sim_servers')} servers` : '';

  // Storage read vs cache size, one chart per popularity skew.
  const curves = new Map<string, Map<string, [number, number][]>>();
  for (const [k, v] of Object.entries(figures)) {
    const m = CACHE_CURVE.exec(k);
    if (!m || typeof v !== 'number') continue;
    const [, policy, zipf, pct] = m as unknown as [string, string, string, string];
    const byPolicy = curves.get(zipf) ?? new Map<string, [number, number][]>();
    curves.set(zipf, byPolicy);
    const pts = byPolicy.get(policy) ?? [];
    byPolicy.set(policy, pts);
    pts.push([Number(pct.replace('_', '.')), v]);
  }
  for (const [zipf, byPolicy] of curves) {
    // Without a cache the storage read does not depend on the cache size: a flat line.
    const none = num(`cache.nocache.${zipf}.storage_gbytes`);
    const xs = [...new Set([...byPolicy.values()].flatMap((pts) => pts.map((p) => p[0])))];
    if (none !== undefined && !byPolicy.has('none'))
      byPolicy.set(
        'none',
        xs.map((x) => [x, none]),
      );
    const alpha = zipf.replace('zipf', '').replace(/^(\d)(\d+)$/, '$1.$2');
    put(
      `cache-curve-${zipf}.svg`,
      lineChart({
        title: `Storage bytes read vs cache size (Zipf α ${alpha})`,
        xLabel: 'cache size, % of catalog',
        yLabel: 'storage read, GB',
        series: [...byPolicy].sort(([a], [b]) => a.localeCompare(b)).map(([name, points]) => ({ name, points })),
      }),
    );
  }

  // Per-policy bars of the cluster simulator.
  const policies = Object.keys(figures)
    .filter((k) => k.startsWith('lb.max_mean_load.'))
    .map((k) => k.slice('lb.max_mean_load.'.length));
  const bars = (prefix: string) =>
    policies
      .filter((p) => num(`${prefix}${p}`) !== undefined)
      .map((p) => ({ label: p, value: num(`${prefix}${p}`)!, highlight: p.startsWith('baton.') }));
  if (policies.length > 0) {
    put(
      'lb-max-mean-load.svg',
      barChart({
        title: `Peak ÷ mean server load per policy${scale}`,
        yLabel: 'peak load ÷ mean load',
        bars: bars('lb.max_mean_load.'),
        digits: 3,
        reference: { value: 1.25, label: 'target ≤ 1.25' },
      }),
    );
    put(
      'lb-cache-served-share.svg',
      barChart({
        title: `Share of viewer bytes served from caches${scale}`,
        yLabel: 'cache-served share',
        bars: bars('lb.cache_served_share.'),
        digits: 3,
        reference: { value: 0.75, label: 'target ≥ 0.75' },
      }),
    );
  }

  // The utilisation sweep: each policy's figure against mean utilisation.
  const sweep = (figure: string) => {
    const byPolicy = new Map<string, [number, number][]>();
    for (const [k, v] of Object.entries(figures)) {
      const m = new RegExp(`^lb\\.sweep\\.u(\\d+)\\.${figure}\\.(.+)$`).exec(k);
      if (!m || typeof v !== 'number' || !Number.isFinite(v)) continue;
      byPolicy.set(m[2]!, [...(byPolicy.get(m[2]!) ?? []), [Number(m[1]), v]]);
    }
    return [...byPolicy].map(([name, points]) => ({ name, points }));
  };
  const sweepShare = sweep('cache_served_share');
  if (sweepShare.length > 0) {
    put(
      'lb-sweep-cache-served-share.svg',
      lineChart({
        title: 'Cache-served share vs mean utilisation (10 servers)',
        xLabel: 'mean utilisation, %',
        yLabel: 'cache-served share',
        series: sweepShare,
      }),
    );
    put(
      'lb-sweep-max-mean-load.svg',
      lineChart({
        title: 'Peak ÷ mean server load vs mean utilisation (10 servers)',
        xLabel: 'mean utilisation, %',
        yLabel: 'peak load ÷ mean load',
        series: sweep('max_mean_load'),
      }),
    );
  }

  // Hub join latency against offered rate.
  const hubSteps = Object.keys(figures)
    .map((k) => /^hub\.join_p99_ms_at\.(\d+)$/.exec(k))
    .filter((m): m is RegExpExecArray => m !== null && Number.isFinite(num(m[0])))
    .map((m) => [Number(m[1]), num(m[0])!] as [number, number]);
  if (hubSteps.length > 0) {
    // Past the knee p99 jumps to timeouts (seconds); clip so the knee stays readable.
    const clipMs = 250;
    const clipped = hubSteps.map(([x, y]) => [x, Math.min(y, clipMs)] as [number, number]);
    const note = hubSteps.some(([, y]) => y > clipMs) ? ` (drawn at most ${clipMs} ms)` : '';
    put(
      'hub-join-p99.svg',
      lineChart({
        title: 'Hub: join p99 vs offered rate, 3 servers, loopback',
        xLabel: 'offered joins/s',
        yLabel: `join p99, ms${note}`,
        series: [
          { name: 'p99', points: clipped },
          { name: 'limit 50 ms', points: hubSteps.map(([x]) => [x, 50] as [number, number]) },
        ],
      }),
    );
  }

  // Time to first frame: the samples the TTFF suite keeps among its figures.
  const ttff = ttffSamples(figures);
  if (ttff.length > 0) {
    put(
      'ttff.svg',
      lineChart({
        title: 'Time to first frame: share of starts within x ms',
        xLabel: 'ms from navigation start, or from the click',
        yLabel: 'share of samples',
        series: ttff.map(({ name, ms }) => ({ name: `${name} (n = ${ms.length})`, points: cdfSteps(ms) })),
      }),
    );
  }

  // Baton against real peers (bench/peers.ts): time to first frame per peer, and live glass to glass.
  const peerTtff = Object.keys(figures)
    .map((k) => /^peers\.ttff_samples_ms\.(.+)$/.exec(k))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ name: PEER_LABELS[m[1]!] ?? m[1]!, ms: samplesOf(figures[m[0]]) }))
    .filter((s) => s.ms.length > 0);
  if (peerTtff.length > 0) {
    put(
      'peers-ttff.svg',
      lineChart({
        title: 'Time to first frame against real peers: share of starts within x ms',
        xLabel: 'ms from navigation start',
        yLabel: 'share of samples',
        series: peerTtff.map(({ name, ms }) => ({ name: `${name} (n = ${ms.length})`, points: cdfSteps(ms) })),
      }),
    );
  }
  const g2g = Object.keys(figures)
    .map((k) => /^peers\.glass_to_glass_ms_p50\.(.+)$/.exec(k))
    .filter((m): m is RegExpExecArray => m !== null && Number.isFinite(num(m[0])));
  if (g2g.length > 0) {
    put(
      'peers-glass-to-glass.svg',
      barChart({
        title: 'Live glass to glass, p50 (clock in the frame → viewer)',
        yLabel: 'ms',
        digits: 0,
        bars: g2g.map((m) => ({ label: PEER_LABELS[m[1]!] ?? m[1]!, value: num(m[0])!, highlight: m[1] === 'baton' })),
      }),
    );
  }
  return written;
}

/** Peer names as the plots label them. */
const PEER_LABELS: Record<string, string> = {
  baton: 'Baton',
  baton_whep: 'Baton WHEP',
  baton_whip: 'Baton WHIP → WHEP',
  baton_low_latency: 'Baton player, low latency',
  janus: 'Janus (videobufferkf)',
  hls: 'nginx-rtmp HLS + hls.js',
  http: 'HTTP range + MSE',
};

const samplesOf = (x: unknown): number[] =>
  Array.isArray(x) ? x.filter((v): v is number => typeof v === 'number' && Number.isFinite(v)) : [];

function ttffSamples(figures: Readonly<Record<string, unknown>>): { name: string; ms: number[] }[] {
  return [
    { name: 'Baton', ms: samplesOf(figures['ttff.samples_ms']) },
    { name: 'HTTP baseline', ms: samplesOf(figures['ttff.http_samples_ms']) },
    { name: 'Baton, from a click', ms: samplesOf(figures['ttff.click_samples_ms']) },
    { name: 'HTTP, from a click', ms: samplesOf(figures['ttff.click_http_samples_ms']) },
  ].filter((s) => s.ms.length > 0);
}

/** The empirical CDF as a staircase: (x, share of samples ≤ x). */
export function cdfSteps(samples: readonly number[]): [number, number][] {
  const s = [...samples].sort((a, b) => a - b);
  const pts: [number, number][] = [];
  s.forEach((x, i) => {
    pts.push([x, i / s.length], [x, (i + 1) / s.length]);
  });
  return pts;
}
