// Which blocks an interval cache keeps, and for whom: the follower of the stream's pair, the asset's prefix, the whole
// asset (gic); a new block takes room in the budget only from longer intervals.
import type { AssetState } from './asset-records.js';
import type { BlockTable, HeldBlock } from './block-table.js';
import { isCompleteBlock } from './cache-shared.js';
import type { Chains } from './interval-chain.js';
import type { Member, Pair } from './pair.js';
import type { PairRanking } from './pair-ranking.js';
import type { PrefixPool } from './prefix-pool.js';
import type { StreamInfo } from './types.js';
import { keepBlock } from './whole-assets.js';

/** The stream a block was read for: the pair it leads, its asset, what it knew at open. */
export type ReadingStream = Pick<Member, 'lead'> & { readonly asset: AssetState; readonly info: StreamInfo };

/** The cache's parts a block is kept in. */
interface KeeperParts {
  table: BlockTable;
  chains: Chains;
  prefix: PrefixPool;
  ranking: PairRanking<AssetState>;
  blockBytes: number;
}

/** No state of its own but the count of refusals: the blocks and their reasons are the parts'. */
export class BlockKeeper {
  readonly #p: KeeperParts;
  #refused = 0;

  constructor(table: BlockTable, chains: Chains, prefix: PrefixPool, ranking: PairRanking<AssetState>, blockBytes: number) {
    this.#p = { table, chains, prefix, ranking, blockBytes };
  }

  /** New blocks some reason wanted but no room could be made for. */
  get refused(): number {
    return this.#refused;
  }

  /** The stream has `block` in hand: keep it for its follower and for the prefix. */
  retain(s: ReadingStream, block: number, held: HeldBlock): void {
    const { chains, prefix } = this.#p;
    const p = s.lead;
    if (p !== null && pairWants(p, block)) chains.add(p, block, held);
    const asset = s.asset;
    if (prefix.wants(asset, block) && prefix.reserve(asset, held.bytes.length)) prefix.pin(asset, block, held);
    if (asset.keeping && block < asset.keepBelow) keepBlock(asset, block, held);
  }

  /** The stream read `block` (`bytes`, not held yet) from storage: held when a reason wants it and room is made. */
  admit(s: ReadingStream, block: number, bytes: Uint8Array): boolean {
    const { table, chains, prefix, ranking } = this.#p;
    const asset = s.asset;
    if (!isCompleteBlock(block, bytes.length, this.#p.blockBytes, s.info)) return false;
    const p = s.lead;
    const forPair = p !== null && pairWants(p, block);
    const forPrefix = prefix.wants(asset, block) && prefix.reserve(asset, bytes.length);
    const forWhole = asset.keeping && block < asset.keepBelow;
    if (!forPair && !forPrefix && !forWhole) return false;
    // The budget check comes before the bytes enter: a shorter interval may take
    // the space of longer ones, nothing else may push the cache over.
    if (!table.fits(bytes.length)) {
      const made = forPair
        ? ranking.makeRoom(bytes.length, p!.intervalMs, chains.indexOf(p!))
        : forWhole && ranking.makeRoom(bytes.length, asset.entryKey, -1);
      if (!made) {
        this.#refused++;
        return false;
      }
    }
    const held = table.insert(asset, block, bytes);
    if (forPair) chains.add(p!, block, held);
    if (forPrefix) prefix.pin(asset, block, held);
    if (forWhole) keepBlock(asset, block, held);
    return true;
  }
}

/** The pair's follower will read `block`, and its queue has not passed it: a cached pair holds it. */
function pairWants(p: Pair, block: number): boolean {
  return p.cached && p.followerPos <= block && (p.size === 0 || p.last() < block);
}
