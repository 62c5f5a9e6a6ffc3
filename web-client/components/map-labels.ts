// Where the world map writes each server's name: beside its dot when there is room, else moved up or down until it
// covers no other label or dot (servers a few kilometres apart are one blot at world scale), with a line back to it.

/** A dot on the map, in the map's units (degrees: x = longitude, y = −latitude). */
export interface MapDot {
  x: number;
  y: number;
  /** The lines written beside it: the server's id, then its region. */
  id: string;
  region: string;
}

export interface LabelPlace {
  /** The text's anchor point (the id's baseline; the region's is LINE_GAP below). */
  tx: number;
  ty: number;
  anchor: 'start' | 'end';
  /** True when the label moved away from its dot: draw a line back to it. */
  moved: boolean;
}

/** Map units: the id's font is 5.4 high, the region's 4.2 (baton-world-map.ts). */
const ID_CHAR_W = 3.3;
const REGION_CHAR_W = 2.5;
const ABOVE_BASELINE = 5;
export const LINE_GAP = 5;
const BELOW_BASELINE = LINE_GAP + 1.2;
/** Between the dot's centre and the label's near edge. */
const SIDE_GAP = 5;
const DOT_R = 2.6;
/** A label moves at most this many rows up or down before it gives up and overlaps. */
const MAX_ROWS = 8;
const ROW = ABOVE_BASELINE + BELOW_BASELINE + 0.6;
/** Past this longitude a label goes on the dot's left first, so it stays on the map. */
const EAST_EDGE = 140;
/**
 * Past this many servers the map shows dots only: names would cover the map, and each server's name is in its dot's
 * tooltip and its card. Also what keeps placing the labels cheap on every redraw.
 */
export const MAX_LABELLED_SERVERS = 300;
/** Side of the grid cells that index placed boxes (map units): a test looks only at the cells its box touches. */
const CELL = 12;

export interface Box {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

export const overlaps = (a: Box, b: Box): boolean => a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;

/** The area a dot's label covers when written at `at`. */
export function labelBox(d: MapDot, at: Pick<LabelPlace, 'tx' | 'ty' | 'anchor'>): Box {
  const width = Math.max(d.id.length * ID_CHAR_W, d.region.length * REGION_CHAR_W);
  return {
    x0: at.anchor === 'start' ? at.tx : at.tx - width,
    x1: at.anchor === 'start' ? at.tx + width : at.tx,
    y0: at.ty - ABOVE_BASELINE,
    y1: at.ty + BELOW_BASELINE,
  };
}

/** The area a dot covers. */
export function dotBox(d: MapDot): Box {
  return { x0: d.x - DOT_R, x1: d.x + DOT_R, y0: d.y - DOT_R, y1: d.y + DOT_R };
}

/** Boxes indexed by the grid cells they touch. */
class BoxGrid {
  readonly #cells = new Map<string, Box[]>();

  add(b: Box): void {
    this.#each(b, (key) => {
      const list = this.#cells.get(key);
      if (list) list.push(b);
      else this.#cells.set(key, [b]);
    });
  }

  hits(b: Box): boolean {
    let hit = false;
    this.#each(b, (key) => {
      hit ||= this.#cells.get(key)?.some((t) => overlaps(t, b)) === true;
    });
    return hit;
  }

  #each(b: Box, f: (key: string) => void): void {
    for (let cx = Math.floor(b.x0 / CELL); cx <= Math.floor(b.x1 / CELL); cx++)
      for (let cy = Math.floor(b.y0 / CELL); cy <= Math.floor(b.y1 / CELL); cy++) f(`${cx}:${cy}`);
  }
}

/**
 * A place for every dot's label (in the dots' order), or none past MAX_LABELLED_SERVERS. Labels are placed north to
 * south: each takes the first spot, nearest rows first, on the side that keeps it on the map first, where it overlaps
 * no label placed before and no dot.
 */
export function placeLabels(dots: readonly MapDot[]): Array<LabelPlace | null> {
  if (dots.length > MAX_LABELLED_SERVERS) return dots.map(() => null);
  const taken = new BoxGrid();
  for (const d of dots) taken.add(dotBox(d));
  const out: LabelPlace[] = new Array(dots.length);
  const order = dots.map((_, i) => i).sort((a, b) => dots[a]!.y - dots[b]!.y || dots[a]!.x - dots[b]!.x);
  for (const i of order) {
    const d = dots[i]!;
    const sides: Array<'start' | 'end'> = d.x > EAST_EDGE ? ['end', 'start'] : ['start', 'end'];
    const at = (anchor: 'start' | 'end', row: number): LabelPlace => ({
      tx: anchor === 'start' ? d.x + SIDE_GAP : d.x - SIDE_GAP,
      ty: d.y - 0.4 + row * ROW,
      anchor,
      moved: row !== 0,
    });
    let place: LabelPlace | null = null;
    for (let k = 0; k <= 2 * MAX_ROWS && !place; k++) {
      // Rows 0, +1, −1, +2, −2, …
      const row = k % 2 === 1 ? (k + 1) / 2 : -k / 2;
      for (const anchor of sides) {
        const box = labelBox(d, at(anchor, row));
        if (taken.hits(box)) continue;
        taken.add(box);
        place = at(anchor, row);
        break;
      }
    }
    // No room within MAX_ROWS (a crowd in one spot): beside its dot, overlapping.
    out[i] = place ?? at(sides[0]!, 0);
  }
  return out;
}
