// The blocks of a Cluster not yet known to hold a video keyframe, read for KeyframeClusters: a SimpleBlock's head, or a
// BlockGroup's Block head and whether the group references another frame. A head's bytes may arrive in later chunks.
import { BLOCK_HEAD_BYTES, type BlockHead, readBlockHeadInto } from '../../common/ebml-header.js';
import { BLOCK_ID, REFERENCE_BLOCK_ID, SIMPLE_BLOCK_ID } from './ebml-stream.js';
import type { KeyframeClusters } from './keyframe-clusters.js';
import { SpanCollector } from './span-collector.js';

/** Whose block head is being collected: a SimpleBlock's (`block`) or a BlockGroup's Block (`group`). */
type PeekFor = 'block' | 'group';

/** Collects into fixed buffers: a block costs no allocation. */
export class KeyframeBlocks {
  readonly #keyframes: KeyframeClusters;
  /** The BlockGroup being walked: its end, its Block's track, whether it references another frame. */
  #groupEnd = 0;
  #groupTrack: number | undefined;
  #groupRef = false;
  /** A block head being collected (the first bytes of a (Simple)Block's payload, which may arrive in later chunks). */
  #peekFor: PeekFor | null = null;
  readonly #peek = new SpanCollector(BLOCK_HEAD_BYTES);
  readonly #blockHead: BlockHead = { track: 0, relTicks: 0, flags: 0, key: false, headerBytes: 0 };

  constructor(keyframes: KeyframeClusters) {
    this.#keyframes = keyframes;
  }

  /** Where the BlockGroup being walked ends. */
  get groupEnd(): number {
    return this.#groupEnd;
  }

  /**
   * A block (`id`, its data `size` bytes from `dataStart`) of the Cluster being walked, while it has shown no video
   * keyframe: a SimpleBlock's head says its track and keyframe flag (read now from `buf`, which starts at absolute
   * offset `bufAt`, or as its bytes arrive); a BlockGroup is walked into (a keyframe there is a group without a
   * ReferenceBlock). True when the walk goes into a BlockGroup.
   */
  block(id: number, dataStart: number, size: number, buf: Uint8Array, bufAt: number): boolean {
    if (!this.#keyframes.pending) return false;
    if (id === SIMPLE_BLOCK_ID) {
      this.#readBlockHead(dataStart, size, 'block', buf, bufAt);
      return false;
    }
    this.#groupEnd = dataStart + size;
    this.#groupTrack = undefined;
    this.#groupRef = false;
    return true;
  }

  /** A child (`id`, its data `size` bytes from `dataStart`) of the BlockGroup being walked. */
  groupChild(id: number, dataStart: number, size: number, buf: Uint8Array, bufAt: number): void {
    if (id === REFERENCE_BLOCK_ID) this.#groupRef = true;
    else if (id === BLOCK_ID) this.#readBlockHead(dataStart, size, 'group', buf, bufAt);
  }

  /** The BlockGroup was walked whole. */
  endGroup(): void {
    this.#keyframes.block(this.#groupTrack, !this.#groupRef);
  }

  /** Bytes `chunk` (starting at absolute offset `start`) for the block head being collected, if one is. */
  fill(chunk: Uint8Array, start: number): void {
    if (this.#peekFor) this.#fillPeek(chunk, start);
  }

  /** Malformed inside the Cluster or the BlockGroup: the Cluster's keyframe is given up. */
  giveUp(): void {
    this.#keyframes.giveUp();
    this.#peekFor = null;
  }

  /** The walk stopped: no head is collected any more. */
  cancel(): void {
    this.#peekFor = null;
  }

  /** Collects a block's head (track number, timecode, flags) at `dataStart`, from the bytes being walked now or from later chunks. */
  #readBlockHead(dataStart: number, size: number, forWhom: PeekFor, buf: Uint8Array, bufAt: number): void {
    this.#peekFor = forWhom;
    this.#peek.begin(dataStart, Math.min(size, BLOCK_HEAD_BYTES));
    this.#fillPeek(buf, bufAt);
  }

  #fillPeek(chunk: Uint8Array, start: number): void {
    const len = this.#peek.length;
    if (this.#peek.fill(chunk, start) < len) return;
    const forWhom = this.#peekFor;
    this.#peekFor = null;
    // An unreadable head (no track): the Cluster cannot be told to hold a keyframe.
    const head = this.#blockHead;
    const read = readBlockHeadInto(this.#peek.bytes, len, head);
    if (forWhom === 'group') this.#groupTrack = read ? head.track : undefined;
    else this.#keyframes.block(read ? head.track : undefined, read && head.key);
  }
}
