// The world map's labels: beside their dot when there is room; in a crowd, none covers another label or any dot.
import { describe, expect, it } from 'vitest';
import {
  dotBox,
  labelBox,
  MAX_LABELLED_SERVERS,
  overlaps,
  placeLabels,
  type LabelPlace,
  type MapDot,
} from '../../web-client/components/map-labels.js';

const dot = (id: string, lon: number, lat: number, region = 'eu'): MapDot => ({ id, region, x: lon, y: -lat });

/** Places for every dot (the test fails on a dot without one). */
function placed(dots: MapDot[]): LabelPlace[] {
  const places = placeLabels(dots);
  expect(places.every((p) => p !== null)).toBe(true);
  return places as LabelPlace[];
}

function clashes(dots: MapDot[]): string[] {
  const places = placed(dots);
  const boxes = dots.map((d, i) => labelBox(d, places[i]!));
  const out: string[] = [];
  boxes.forEach((b, i) => {
    boxes.forEach((c, j) => {
      if (j > i && overlaps(b, c)) out.push(`${dots[i]!.id}'s label covers ${dots[j]!.id}'s`);
    });
    dots.forEach((d, j) => {
      if (overlaps(b, dotBox(d))) out.push(`${dots[i]!.id}'s label covers ${d.id}'s dot`);
    });
  });
  return out;
}

describe('placeLabels', () => {
  it('writes a lone server beside its dot, on the left near the east edge of the map', () => {
    expect(placed([dot('fra-1', 8, 50)])).toEqual([{ tx: 13, ty: -50.4, anchor: 'start', moved: false }]);
    expect(placed([dot('tok-1', 150, 35)])[0]).toMatchObject({ tx: 145, anchor: 'end', moved: false });
  });

  it('servers a degree apart (one blot at world scale): no label covers another or a dot, the moved ones say so', () => {
    const crowd = [0, 1, 2, 3, 4, 5].map((i) => dot(`srv-${i}`, 2 + i, 48 + i));
    expect(clashes(crowd)).toEqual([]);
    const places = placed(crowd);
    expect(places.some((p) => p.moved)).toBe(true);
    // The one placed first (northernmost) stays beside its dot.
    expect(places[5]!.moved).toBe(false);
  });

  it('servers far apart keep their labels beside their dots', () => {
    const world = [dot('fra-1', 8, 50), dot('nyc-1', -74, 41), dot('syd-1', 151, -34), dot('sao-1', -46, -23)];
    expect(placed(world).every((p) => !p.moved)).toBe(true);
    expect(clashes(world)).toEqual([]);
  });

  it('twenty servers in one city with long names: none covers another', () => {
    const city = Array.from({ length: 20 }, (_, i) =>
      dot(`edge-frankfurt-${i}`, 8 + (i % 4) * 0.3, 50 + Math.floor(i / 4) * 0.3, 'eu-central'),
    );
    expect(clashes(city)).toEqual([]);
  });

  it(`labels up to ${MAX_LABELLED_SERVERS} servers, and none past that (dots only: names would cover the map)`, () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => dot(`srv-${i}`, -10 + (i % 40), 35 + Math.floor(i / 40) * 1.5));
    expect(placeLabels(many(MAX_LABELLED_SERVERS)).every((p) => p !== null)).toBe(true);
    expect(placeLabels(many(MAX_LABELLED_SERVERS + 1)).every((p) => p === null)).toBe(true);
  });
});
