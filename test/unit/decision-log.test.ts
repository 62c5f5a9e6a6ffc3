// The dashboard's decision log (baton-decision-log.ts), rendered to text: an ingest assignment says "live" only
// while its stream is live in the table.
import { describe, expect, it } from 'vitest';
import type { DecisionEvent } from '../../signaling/protocol/decisions.js';
import { BatonDecisionLog } from '../../web-client/components/baton-decision-log.js';

type IngestDecision = Extract<DecisionEvent, { kind: 'publish' }>;

const place = { lat: 48.86, lon: 2.35, label: 'Paris', source: 'typed' } as const;
const assignment = (streamId: string): IngestDecision => ({
  kind: 'publish',
  atMs: Date.UTC(2026, 11, 7, 1, 0),
  streamId,
  typed: place,
  ip: null,
  primary: { serverId: 'ingest-par', region: 'eu-west', rttMs: 4, from: place, loadFactor: 0.1 },
  backup: null,
  ipUnknown: false,
  epoch: 3,
});

/** A template's text with its values in place (markup and all): what the element would show. */
function textOf(v: unknown): string {
  if (v === null || v === undefined || v === false) return '';
  if (Array.isArray(v)) return v.map(textOf).join('');
  if (typeof v === 'object' && 'strings' in v && 'values' in v) {
    const { strings, values } = v as { strings: readonly string[]; values: readonly unknown[] };
    return strings.map((s, i) => s + (i < values.length ? textOf(values[i]) : '')).join('');
  }
  return String(v);
}

function ingestItems(live: ReadonlySet<string>, streams: string[]): string[] {
  const log = new BatonDecisionLog();
  log.ingest = streams.map(assignment);
  log.live = live;
  const html = textOf(log.render());
  return html.split('<li>').slice(1);
}

describe('decision log', () => {
  it('marks the assignment of a stream live in the table "live"', () => {
    const [item] = ingestItems(new Set(['cam-1']), ['cam-1']);
    expect(item).toContain('badge live');
    expect(item).toContain('cam-1');
  });

  it('does not mark "live" the assignment of a stream that ended (a stored asset now) or is not in the table', () => {
    const items = ingestItems(new Set(['cam-2']), ['cam-2', 'finished-talk', 'cam-1']);
    expect(items.map((i) => i.includes('badge live'))).toEqual([true, false, false]);
  });
});
