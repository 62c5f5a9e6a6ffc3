// Finds a growing WebM stream's init segment length, its Cluster offsets and which Clusters hold a video keyframe, chunk by chunk.
// The bytes a push walks are header-window.ts's; the blocks looked at for a keyframe, keyframe-blocks.ts's.
import { BLOCK_IDS, HeaderRead, type HeaderSlot, Id, SEGMENT_LEVEL_IDS } from './ebml-stream.js';
import { ClusterOffsets } from './cluster-offsets.js';
import { ClusterSense } from './cluster-sense.js';
import { ClusterTimecode } from './cluster-timecode.js';
import { HeaderWindow } from './header-window.js';
import { InitBytes } from './init-bytes.js';
import { KeyframeBlocks } from './keyframe-blocks.js';
import { KeyframeClusters, type KeyframeMode } from './keyframe-clusters.js';

/** `sized`: inside a sized Cluster until its first frame and whether it holds a video keyframe are known, `group`: inside a BlockGroup while looking for one. */
type Mode = 'ebml' | 'top' | 'segment' | 'cluster' | 'sized' | 'group' | 'stopped';

/**
 * Walks element headers only (payloads are skipped without being buffered), so
 * indexing costs O(headers) and a few bytes of memory whatever the chunk sizes;
 * every structure it keeps is bounded, and a Cluster costs no allocation.
 * Malformed input stops the walk: what was indexed stays valid, nothing more is
 * added (`stopped` says so), and the stream itself is still stored as sent.
 * Clusters that make no sense as media (ClusterSense) stop it too, and say why in `refusal`.
 */
export class ClusterIndex {
  /** Offset of the first Cluster = length of the init segment (EBML header, Info, Tracks). */
  initBytes: number | undefined;
  #mode: Mode = 'ebml';
  /** Absolute offset of the next header to read. */
  #pos = 0;
  /** Bytes seen so far. */
  #total = 0;
  /** The bytes being walked during a push; between pushes, the unparsed bytes at #pos (fewer than a header's). */
  readonly #window = new HeaderWindow();
  readonly #h: HeaderSlot = { id: 0, size: 0, headerBytes: 0 };
  #segmentEnd = Infinity;
  #clusterCount = 0;
  readonly #offsets = new ClusterOffsets();
  #firstFrameEnd: number | undefined;
  readonly #sense = new ClusterSense();
  /** Media time (ms) of the Cluster being walked once its Timecode is read, and the newest of any Cluster. */
  #clusterMs: number | undefined;
  #newestMs: number | undefined;
  readonly #keyframes = new KeyframeClusters(this.#offsets, () => this.#clusterMs);
  /** The blocks of a Cluster looked at for a video keyframe (their heads, a BlockGroup's children). */
  readonly #blocks = new KeyframeBlocks(this.#keyframes);
  /** The bytes before the first Cluster, kept until it is found: the Tracks name the video track. */
  readonly #init = new InitBytes();
  /** The Cluster being walked has shown a block. */
  #clusterHasFrame = false;
  /** End of the sized Cluster being walked. */
  #clusterEnd = Infinity;
  /** The mode around the BlockGroup being walked (its end is #blocks.groupEnd). */
  #groupParent: Mode = 'cluster';

  /**
   * Called with each Cluster's start time, ms of media time, once its Timecode has arrived (while the push that
   * brought it runs: a live writer stamps it with its clock). A Cluster whose first child is not a plain Timecode
   * is left out.
   */
  onClusterTime: ((timeMs: number) => void) | undefined;
  /** A Cluster's Timecode being collected, from its data start. */
  readonly #time = new ClusterTimecode();

  /** True when malformed input (or a refusal) stopped the indexing. */
  get stopped(): boolean {
    return this.#mode === 'stopped';
  }

  /** Why the stream makes no sense as media (see ClusterSense), once it does not. */
  get refusal(): string | undefined {
    return this.#sense.refusal;
  }

  /** Bytes seen so far. */
  get bytes(): number {
    return this.#total;
  }

  /** Clusters seen so far. */
  get clusterCount(): number {
    return this.#clusterCount;
  }

  /** The stream's first Cluster starts (at most MAX_FIRST_CLUSTERS), ascending. */
  get firstClusters(): readonly number[] {
    return this.#offsets.firstClusters;
  }

  /** The newest Cluster starts remembered (at most MAX_RECENT_CLUSTERS), ascending. */
  recentClusters(): number[] {
    return this.#offsets.recentClusters();
  }

  /** The newest keyframe Cluster starts remembered (at most MAX_RECENT_CLUSTERS), ascending. */
  recentKeyClusters(): number[] {
    return this.#offsets.recentKeyClusters();
  }

  /** Where the stream's first frame (block) ends; undefined while none has been seen: a cut before it holds no media. */
  get firstFrameEnd(): number | undefined {
    return this.#firstFrameEnd;
  }

  /** How keyframe Clusters are known (see KeyframeMode); `unknown` until the first Cluster. */
  get keyframes(): KeyframeMode {
    return this.#keyframes.mode;
  }

  /**
   * How many bytes complete the element the stream ends inside, when it ends inside a
   * block's payload in a Cluster (0 at an element boundary); undefined when that cannot
   * be told (inside a header, a sized Cluster, before the first Cluster, or stopped).
   * A stream continued by another muxer (a resumed WHIP broadcast) fills those bytes first.
   */
  get tornBytes(): number | undefined {
    // Inside a BlockGroup of an unknown-size Cluster: what completes the group.
    if (this.#mode === 'group' && this.#groupParent === 'cluster') return this.#blocks.groupEnd - this.#total;
    if (this.#mode !== 'cluster' && this.#mode !== 'segment') return undefined;
    if (this.initBytes === undefined) return undefined;
    if (this.#pos > this.#total) return this.#mode === 'cluster' ? this.#pos - this.#total : undefined;
    return this.#window.kept === 0 ? 0 : undefined;
  }

  /** The last Cluster that starts at or before `limit` (default: anywhere), if any remembered. */
  latestCluster(limit = Infinity): number | undefined {
    return this.#offsets.latestCluster(limit);
  }

  /** The last Cluster known to hold a video keyframe, at or before `limit`, if any remembered. */
  latestKeyCluster(limit = Infinity): number | undefined {
    return this.#offsets.latestKeyCluster(limit);
  }

  /** How far the newest keyframe Cluster starts behind the newest Cluster, ms of media time; undefined when a Timecode is unknown. */
  keyClusterBehindMs(): number | undefined {
    const key = this.#offsets.newestKeyTimeMs;
    return key === undefined || this.#newestMs === undefined ? undefined : this.#newestMs - key;
  }

  /**
   * The longest prefix, at most `limit` bytes and only of bytes pushed so far, that is a
   * valid WebM ending on whole media: after the last whole block of an unknown-size
   * Cluster (what MediaRecorder and WHIP's muxer write; a Cluster there lasts a whole
   * keyframe interval, seconds), after a whole sized Cluster, at a Cluster start, or after
   * a whole Segment-level element that follows the first Cluster (a file's trailing Cues).
   * A salvage that cut only at Cluster starts threw away the newest Cluster, which for
   * a WHIP stream a few seconds old was nearly everything stored.
   */
  latestCut(limit = Infinity): number | undefined {
    return this.#offsets.latestCut(Math.min(limit, this.#total));
  }

  /**
   * `latestCut(limit)` when the prefix it keeps holds media (it ends at or after the first frame); undefined when it
   * would keep only a head, or Clusters without a frame: such a copy plays nothing and is not worth cataloging.
   */
  wholeMediaCut(limit = Infinity): number | undefined {
    const cut = this.latestCut(limit);
    const frame = this.#firstFrameEnd;
    return cut === undefined || frame === undefined || cut < frame ? undefined : cut;
  }

  /** The bytes that follow everything pushed so far. */
  push(chunk: Uint8Array): void {
    const start = this.#total;
    this.#total += chunk.byteLength;
    if (this.#init.keeping) this.#init.keep(chunk);
    this.#blocks.fill(chunk, start);
    if (this.#time.active) this.#clusterTime(this.#time.fill(chunk, start));
    if (this.#mode === 'stopped' || this.#pos >= this.#total) return;
    // Bytes kept from before lie at #pos, just before this chunk; otherwise #pos is inside the chunk.
    this.#window.open(chunk, start);
    this.#walk();
    // Keep what the walk could not read yet (part of a header), not the chunk.
    this.#window.close(!this.stopped && this.#pos < this.#total ? this.#pos : undefined);
  }

  #walk(): void {
    const h = this.#h;
    for (;;) {
      if (this.#mode === 'stopped') return;
      const available = this.#total - this.#pos;
      if (available <= 0) return;
      if (this.#mode === 'group' && this.#pos >= this.#blocks.groupEnd) {
        this.#endGroup();
        continue;
      }
      if (this.#mode === 'sized' && this.#pos >= this.#clusterEnd) {
        this.#mode = 'segment';
        continue;
      }
      const read = this.#window.read(this.#pos, available, h);
      // Inside a sized Cluster or a BlockGroup the walk only looks for a first block: what it cannot read is skipped.
      if (read === HeaderRead.bad) {
        if (this.#mode === 'group' || this.#mode === 'sized') {
          this.#skipLookup();
          continue;
        }
        return this.#stop();
      }
      if (read === HeaderRead.short) return; // wait for more bytes
      const at = this.#pos;
      const dataStart = at + h.headerBytes;
      const unknownSize = h.size < 0;
      let next: number;
      switch (this.#mode) {
        case 'ebml':
          if (h.id !== Id.ebml || unknownSize) return this.#stop();
          next = dataStart + h.size;
          this.#mode = 'top';
          break;
        case 'top':
          if (h.id === Id.segment) {
            this.#segmentEnd = unknownSize ? Infinity : dataStart + h.size;
            this.#mode = 'segment';
            next = dataStart;
          } else {
            if (unknownSize) return this.#stop();
            next = dataStart + h.size;
          }
          break;
        case 'segment':
          if (at >= this.#segmentEnd) {
            this.#mode = 'top';
            continue;
          }
          if (h.id === Id.cluster) {
            if (!this.#clusterStart(at, dataStart)) return this.#stop();
            if (unknownSize) this.#mode = 'cluster';
            else {
              this.#cut(dataStart + h.size);
              // A sized Cluster is walked only until its first frame and a video keyframe (or the lack of one) are known.
              this.#mode = 'sized';
              this.#clusterEnd = dataStart + h.size;
            }
            next = dataStart;
          } else {
            // Only Clusters may have an unknown size inside a Segment.
            if (unknownSize) return this.#stop();
            next = dataStart + h.size;
            // After the media began, a whole Segment-level element (the Cues a file's muxer writes at its end, Tags)
            // ends a valid prefix too: a salvage of a file sent whole keeps it whole, the other copies' bytes.
            if (this.initBytes !== undefined) this.#cut(next);
          }
          break;
        case 'cluster':
          if (SEGMENT_LEVEL_IDS.has(h.id) || at >= this.#segmentEnd) {
            this.#mode = 'segment';
            continue; // the unknown-size Cluster ended here: read this header again at Segment level
          }
          if (unknownSize) return this.#stop();
          next = dataStart + h.size;
          // Known before the block's bytes arrive; latestCut never returns more than was pushed.
          if (BLOCK_IDS.has(h.id)) {
            this.#cut(next);
            this.#sawFrame(next);
            next = this.#checkBlock(h.id, dataStart, h.size);
          }
          break;
        case 'sized':
          if (unknownSize || dataStart + h.size > this.#clusterEnd) {
            this.#skipLookup();
            continue;
          }
          next = dataStart + h.size;
          if (BLOCK_IDS.has(h.id)) {
            this.#sawFrame(next);
            next = this.#checkBlock(h.id, dataStart, h.size);
          }
          // A frame and a video keyframe (or a block that cannot tell) seen: the rest of the Cluster is skipped whole.
          if (!this.#keyframes.pending && this.#clusterHasFrame) next = this.#clusterEnd;
          break;
        case 'group': {
          if (unknownSize || dataStart + h.size > this.#blocks.groupEnd) {
            this.#skipLookup();
            continue;
          }
          next = dataStart + h.size;
          this.#blocks.groupChild(h.id, dataStart, h.size, this.#window.bytes, this.#window.at);
          break;
        }
      }
      this.#pos = next;
    }
  }

  /** A Cluster header at `at`: judged, remembered, its Timecode and a video keyframe in it looked for. False when refused. */
  #clusterStart(at: number, dataStart: number): boolean {
    if (this.initBytes === undefined) this.#readTracks(at);
    this.initBytes ??= at;
    this.#sense.cluster(at);
    if (this.#sense.refusal !== undefined) return false;
    this.#clusterCount++;
    this.#offsets.cluster(at);
    this.#clusterHasFrame = false;
    this.#clusterMs = undefined;
    this.#clusterTime(this.#time.begin(dataStart, this.#window.bytes, this.#window.at));
    this.#keyframes.cluster(at);
    return true;
  }

  /** A block (ending at `end`) in the Cluster being walked. */
  #sawFrame(end: number): void {
    this.#clusterHasFrame = true;
    this.#firstFrameEnd ??= end;
    this.#sense.frame();
  }

  /** The Tracks (in the bytes before the first Cluster at `at`) say which track is video. */
  #readTracks(at: number): void {
    const probe = this.#init.probe(at);
    if (!probe) return;
    this.#time.scaleNs = probe.timecodeScaleNs;
    this.#keyframes.tracks(probe.tracks);
  }

  /** A block of a Cluster (see KeyframeBlocks.block). Returns where the walk goes next: into a BlockGroup, or past the block. */
  #checkBlock(id: number, dataStart: number, size: number): number {
    if (!this.#blocks.block(id, dataStart, size, this.#window.bytes, this.#window.at)) return dataStart + size;
    this.#groupParent = this.#mode;
    this.#mode = 'group';
    return dataStart;
  }

  #endGroup(): void {
    this.#mode = this.#groupParent;
    this.#blocks.endGroup();
  }

  /** A Cluster's Timecode read whole (`ms` of media time; undefined while it is not, or if there is none). */
  #clusterTime(ms: number | undefined): void {
    if (ms === undefined) return;
    this.#clusterMs = ms;
    if (this.#newestMs === undefined || ms > this.#newestMs) this.#newestMs = ms;
    this.#sense.time(ms);
    this.onClusterTime?.(ms);
  }

  /** Malformed inside a sized Cluster or a BlockGroup: give up on this Cluster's keyframe and skip the element whole. */
  #skipLookup(): void {
    this.#blocks.giveUp();
    if (this.#mode === 'group') {
      this.#mode = this.#groupParent;
      this.#pos = this.#blocks.groupEnd;
      return;
    }
    this.#mode = 'segment';
    this.#pos = this.#clusterEnd;
  }

  #cut(at: number): void {
    this.#offsets.cut(at);
  }

  #stop(): void {
    this.#mode = 'stopped';
    this.#window.drop();
    this.#init.drop();
    this.#blocks.cancel();
    this.#time.cancel();
  }
}
