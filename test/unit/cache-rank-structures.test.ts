// The interval cache's ranking structures: the pairs' typed arrays and the whole-asset ranking, kept up to date incrementally.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BlockTable } from '../../node-app/cache/block-table.js';
import { Chains, PAIR_ALIVE, PAIR_CACHED, PAIR_GHOST, SLOT_FLAGS, SLOT_HELD, SLOT_STRIDE } from '../../node-app/cache/interval-chain.js';
import type { ChainAsset, Member } from '../../node-app/cache/pair.js';
import { WholeAssets, type KeptAsset } from '../../node-app/cache/whole-assets.js';

const B = 100;

/** Plain checks: the properties run thousands of them, `expect` would be slow. */
function check(ok: boolean, message: string): void {
  if (!ok) throw new Error(message);
}

describe('interval chains: the typed arrays a re-rank reads mirror the pairs', () => {
  type Op =
    | { kind: 'insert'; asset: number; pos: number; dt: number }
    | { kind: 'read'; member: number }
    | { kind: 'cache'; member: number; on: boolean }
    | { kind: 'unlink'; member: number; ghost: boolean }
    | { kind: 'keep'; asset: number; on: boolean };
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('insert' as const), asset: fc.nat(1), pos: fc.nat(12), dt: fc.nat(5000) }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('read' as const), member: fc.nat(40) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('cache' as const), member: fc.nat(40), on: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('unlink' as const), member: fc.nat(40), ghost: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('keep' as const), asset: fc.nat(1), on: fc.boolean() }) },
  );

  it('held bytes, flags, slots and intervals agree with every pair after any sequence of chain operations', () => {
    let checkedPairs = 0;
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 80, size: 'max' }), (ops) => {
        const table = new BlockTable(1e12, () => {});
        const chains = new Chains(table);
        const assets: ChainAsset[] = ['a', 'b'].map((id) => ({
          id,
          blocks: new Map(),
          head: null,
          tail: null,
          keeping: false,
          pairs: 0,
          keepSlot: -1,
        }));
        const members: Member[] = [];
        let now = 0;
        for (const op of ops) {
          const inChain = members.filter((m) => m.lead !== null || m.follow !== null || m.asset.head === m);
          const m = inChain.length > 0 && op.kind !== 'insert' && op.kind !== 'keep' ? inChain[op.member % inChain.length]! : undefined;
          switch (op.kind) {
            case 'insert': {
              now += op.dt;
              const mem: Member = { asset: assets[op.asset]!, owner: {}, pos: op.pos, start: now, lead: null, follow: null };
              members.push(mem);
              chains.insert(mem);
              break;
            }
            case 'read': {
              // A leader reads its next block: held for its follower while their pair is cached.
              if (!m || m.owner === null) break;
              const block = m.pos + 1;
              chains.moved(m, block);
              if (m.follow !== null) chains.releaseBefore(m.follow, block, m.lead);
              const p = m.lead;
              if (p?.cached && (p.size === 0 || p.last() < block)) {
                const held = m.asset.blocks.get(block) ?? table.insert(m.asset, block, new Uint8Array(B));
                chains.add(p, block, held);
              }
              break;
            }
            case 'cache':
              if (!m?.lead) break;
              if (op.on) chains.setCached(m.lead, true);
              else chains.uncache(m.lead);
              break;
            case 'unlink':
              if (!m || m.owner === null) break;
              chains.unlink(m, op.ghost);
              break;
            case 'keep':
              chains.setKeeping(assets[op.asset]!, op.on);
              break;
          }
          const slots = new Set<number>();
          chains.ranked.forEach((p, i) => {
            check(chains.rankedSlot[i] === p.slot, `rankedSlot[${i}] is not pair ${p.id}'s slot`);
            check(chains.rankedIntervalMs[i] === p.intervalMs, `rankedIntervalMs[${i}] is not pair ${p.id}'s interval`);
            check(i === 0 || chains.rankedIntervalMs[i - 1]! <= p.intervalMs, 'ranking out of order');
            const f = chains.slots[SLOT_STRIDE * p.slot + SLOT_FLAGS]!;
            check(((f & PAIR_ALIVE) !== 0) === p.alive, `pair ${p.id}: alive flag`);
            if (!p.alive) return;
            check(!slots.has(p.slot), `slot ${p.slot} given to two live pairs`);
            slots.add(p.slot);
            check(((f & PAIR_CACHED) !== 0) === p.cached, `pair ${p.id}: cached flag`);
            check(((f & PAIR_GHOST) !== 0) === p.ghostLeader, `pair ${p.id}: ghost flag`);
            check(chains.keepingOf(f) === p.asset.keeping, `pair ${p.id}: keeping flag`);
            const queued = p.entries().reduce((sum, [, held]) => sum + held.bytes.length, 0);
            const held = chains.slots[SLOT_STRIDE * p.slot + SLOT_HELD];
            check(held === queued, `pair ${p.id}: held ${held} but its queue lists ${queued}`);
            checkedPairs++;
          });
          // Each asset with a live pair has a keep slot of its own; one without has none (slots are reused, not leaked).
          const keepSlots = new Set<number>();
          for (const a of assets) {
            const live = chains.ranked.filter((p) => p.alive && p.asset === a).length;
            check(a.pairs === live, `${a.id}: counts ${a.pairs} pairs, has ${live}`);
            check(a.keepSlot >= 0 === live > 0, `${a.id}: keep slot ${a.keepSlot} with ${live} pairs`);
            if (a.keepSlot >= 0) keepSlots.add(a.keepSlot);
          }
          check(chains.assetSlotsInUse === keepSlots.size, `${chains.assetSlotsInUse} keep slots in use, ${keepSlots.size} held`);
        }
      }),
      { numRuns: 400 },
    );
    expect(checkedPairs).toBeGreaterThan(1000);
  });
});

describe('gic: the whole-asset ranking, kept sorted between re-ranks', () => {
  type Op = { kind: 'arrive'; asset: number; dt: number; sized: boolean } | { kind: 'drop'; asset: number } | { kind: 'rank'; dt: number };
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({ kind: fc.constant('arrive' as const), asset: fc.nat(7), dt: fc.nat(20_000), sized: fc.boolean() }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('drop' as const), asset: fc.nat(7) }) },
    // Ties: rank often at the time of the last arrival, where stale predictions equal each other's gaps.
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('rank' as const), dt: fc.oneof(fc.constant(0), fc.nat(30_000)) }) },
  );

  type Asset = KeptAsset & { id: string };
  const newAsset = (id: string, seq: number): Asset => ({
    id,
    blocks: new Map(),
    sizeBytes: 0,
    arrivals: null,
    bytesPerMs: 0,
    keeping: false,
    entryKey: Infinity,
    keepBelow: 0,
    keptBytes: 0,
    kept: [],
    seq,
    ranking: false,
    dropped: false,
  });

  it('ranks exactly the eligible records by predicted interval (ties: older record first), as a full sort would', () => {
    let ranks = 0;
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 120, size: 'max' }),
        // Gaps in whole seconds, so that equal predictions (ties) happen.
        fc.constantFrom(1, 1000),
        (ops, unit) => {
          const table = new BlockTable(1e9, () => {});
          const whole = new WholeAssets<Asset>(table, B, 5);
          const live = new Map<string, Asset>();
          let seq = 0;
          let now = 0;
          for (const op of ops) {
            if (op.kind === 'arrive') {
              now += Math.floor(op.dt / unit) * unit;
              const id = `a${op.asset}`;
              let a = live.get(id);
              if (!a) live.set(id, (a = newAsset(id, seq++)));
              whole.arrive(a, now, op.sized ? { assetBytes: 10 * B } : {});
            } else if (op.kind === 'drop') {
              const a = live.get(`a${op.asset}`);
              if (a && !a.keeping) {
                whole.drop(a);
                live.delete(a.id);
              }
            } else {
              now += Math.floor(op.dt / unit) * unit;
              const got = whole.rank(now);
              // The reference: every live record, its prediction from scratch, a full stable sort in creation order.
              const predicted = (a: Asset) => {
                const h = a.arrivals;
                if (a.sizeBytes === 0 || h === null || h.forgotten || h.gapMs === Infinity) return Infinity;
                return Math.max(now - h.lastMs, h.gapMs);
              };
              const want = [...live.values()]
                .filter((a) => predicted(a) !== Infinity)
                .sort((x, y) => predicted(x) - predicted(y) || x.seq - y.seq);
              check(
                got.length === want.length && got.every((a, i) => a === want[i]),
                `ranked ${got.map((a) => a.id)} want ${want.map((a) => a.id)}`,
              );
              for (const a of got) check(a.entryKey === predicted(a), `${a.id}: entryKey ${a.entryKey}`);
              // Admit the first half, so that later ranks must release those that stop being eligible.
              for (const a of got.slice(0, Math.ceil(got.length / 2))) whole.admit(a);
              for (const a of live.values()) check(!a.keeping || got.includes(a), `${a.id} kept whole while not eligible`);
              ranks++;
            }
          }
        },
      ),
      { numRuns: 500 },
    );
    expect(ranks).toBeGreaterThan(1000);
  });
});
