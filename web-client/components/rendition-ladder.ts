// The renditions a viewer can pick for an asset: the asset itself (the top rung) and the smaller ones the catalog lists under it.
import type { CatalogEntry } from '../../signaling/protocol/messages.js';

/** One rung of an asset's ladder. */
export interface Rung {
  /** The asset id to watch for this rung (the asset's own for the top one). */
  id: string;
  heightPx: number | null;
  bitrateBps: number | null;
}

/** The player picks the rung itself (`auto`), or plays the one the viewer chose (its asset id). */
export type Quality = 'auto' | string;

/** Tallest first, the asset itself on top; one rung for an asset without renditions or a live stream. */
export function ladderOf(entry: CatalogEntry | undefined, assetId: string): Rung[] {
  const top: Rung = { id: assetId, heightPx: entry?.heightPx ?? null, bitrateBps: entry?.bitrateBps ?? null };
  if (!entry || entry.live) return [top];
  return [top, ...(entry.renditions ?? []).map((r) => ({ id: r.id, heightPx: r.heightPx, bitrateBps: r.bitrateBps ?? null }))];
}

/** What the quality menu says for a rung: `480p · 1.1 Mb/s`, or the id when the height is unknown. */
export function rungLabel(r: Rung): string {
  const h = r.heightPx === null ? r.id : `${r.heightPx}p`;
  return r.bitrateBps === null ? h : `${h} · ${(r.bitrateBps / 1e6).toFixed(1)} Mb/s`;
}
