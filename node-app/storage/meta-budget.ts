// How much text (titles, descriptions) one registration or storage report of a media server may carry.
import type { AssetInfo } from '../../signaling/protocol/types.js';

/**
 * Titles and descriptions one registration or storage report carries at most, in characters: with
 * the worst UTF-8 (3 bytes a character) that is 144 KiB, inside the hub's 256 KiB message limit.
 * Past it, descriptions are left out first, then titles (the id stands in).
 */
export const MAX_META_CHARS_PER_MESSAGE = 48 * 1024;

/** Drops descriptions, then titles, of the entries past the budget (in order); mutates and returns `infos`. */
export function withinMetaBudget(infos: AssetInfo[], budget = MAX_META_CHARS_PER_MESSAGE): AssetInfo[] {
  let used = 0;
  for (const a of infos) used += (a.title?.length ?? 0) + (a.description?.length ?? 0);
  for (let i = infos.length - 1; i >= 0 && used > budget; i--) {
    used -= infos[i]!.description?.length ?? 0;
    delete infos[i]!.description;
  }
  for (let i = infos.length - 1; i >= 0 && used > budget; i--) {
    used -= infos[i]!.title?.length ?? 0;
    delete infos[i]!.title;
  }
  return infos;
}
