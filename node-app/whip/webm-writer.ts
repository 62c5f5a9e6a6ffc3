// werift's WebM muxer as Baton writes with it: an H.264 track's head rewritten for Matroska, the Cues it keeps bounded,
// and a continuation's Cluster timecodes shifted.
import extra from 'werift-rtp/extra';

const { WebmBase, ID, element, string, number, bytes } = extra;

export type WebmTrack = ConstructorParameters<typeof WebmBase>[0][number];
type Ebml = ReturnType<typeof element>;
/** The parts of werift's WEBMContainer (WebmBase's private `builder`) the AVC track rewrites. */
interface ContainerHead {
  ebmlHeader: Uint8Array;
  trackEntries: Ebml[];
}

/**
 * WebmBase writes its init segment in the protected `start`; the dimensions are only known at the first keyframe.
 * For H.264, werift's container writes CodecID V_MPEG4/ISO/AVC but no CodecPrivate and DocType `webm`
 * (which allows only VP8/VP9/AV1): the video TrackEntry and the DocType are replaced before `start`,
 * so every byte after them (Clusters, SimpleBlocks, Cues and their positions) is still werift's.
 * Not mediabunny's muxer (1.61, checked 2026-12): it writes a block only once every open track has one queued, so a
 * track that goes quiet (video dropped until a keyframe after a loss, a camera that stops) holds the other's blocks
 * without bound, and a closed track cannot reopen; the Interleaver releases them after MAX_INTERLEAVE_WAIT_MS.
 */
export class WebmWriter extends WebmBase {
  constructor(tracks: WebmTrack[], output: ConstructorParameters<typeof WebmBase>[1], avcConfig?: Uint8Array) {
    super(tracks, output);
    if (!avcConfig) return;
    const head = (this as unknown as { builder: ContainerHead }).builder;
    if (!head || !Array.isArray(head.trackEntries) || !(head.ebmlHeader instanceof Uint8Array)) {
      throw new Error('werift-rtp WebmBase changed: no builder.trackEntries / ebmlHeader to write an AVC track into');
    }
    head.ebmlHeader = extra.build(
      element(ID.EBML, [
        element(ID.EBMLVersion, number(1)),
        element(ID.EBMLReadVersion, number(1)),
        element(ID.EBMLMaxIDLength, number(4)),
        element(ID.EBMLMaxSizeLength, number(8)),
        element(ID.DocType, string('matroska')),
        element(ID.DocTypeVersion, number(4)),
        element(ID.DocTypeReadVersion, number(2)),
      ]),
    );
    const i = tracks.findIndex((t) => t.kind === 'video');
    const v = tracks[i]!;
    head.trackEntries[i] = element(ID.TrackEntry, [
      element(ID.TrackNumber, number(v.trackNumber)),
      element(ID.TrackUID, number(v.trackNumber)),
      element(ID.CodecName, string('H.264')),
      element(ID.TrackType, number(1)),
      element(ID.CodecID, string('V_MPEG4/ISO/AVC')),
      element(ID.CodecPrivate, bytes(avcConfig)),
      element(ID.Video, [element(ID.PixelWidth, number(v.width ?? 640)), element(ID.PixelHeight, number(v.height ?? 360))]),
    ]);
  }

  begin(): void {
    this.start();
  }

  /** Past the most cue points kept the Cues are given up: the file would list only some Clusters. */
  cuesDropped = false;

  /** After each Cluster: werift's cue list stays at most `max` long (its newest point stays, werift counts blocks in it). */
  boundCues(max: number): void {
    const cues = (this as unknown as { cuePoints?: unknown[] }).cuePoints;
    if (!Array.isArray(cues) || (cues.length <= max && !this.cuesDropped)) return;
    this.cuesDropped = true;
    cues.splice(0, cues.length - 1);
  }
}

const CLUSTER_HEAD = [0x1f, 0x43, 0xb6, 0x75, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

/**
 * werift's Cluster opening — an unknown-size Cluster header, then its Timecode element
 * (0xE7, a one-byte size, a big-endian uint), nothing else — with `shiftMs` added.
 */
export function shiftedCluster(cluster: Uint8Array, shiftMs: number): Uint8Array {
  const n = (cluster[CLUSTER_HEAD.length + 1] ?? 0) & 0x0f;
  const ok =
    CLUSTER_HEAD.every((x, i) => cluster[i] === x) &&
    cluster[CLUSTER_HEAD.length] === 0xe7 &&
    cluster.byteLength === CLUSTER_HEAD.length + 2 + n;
  if (!ok) throw new Error('unexpected Cluster bytes from the WebM muxer');
  let t = 0;
  for (const x of cluster.subarray(CLUSTER_HEAD.length + 2)) t = t * 256 + x;
  const value: number[] = [];
  for (let v = Math.max(0, Math.round(t + shiftMs)); value.length === 0 || v > 0; v = Math.floor(v / 256)) value.unshift(v & 0xff);
  return Uint8Array.from([...CLUSTER_HEAD, 0xe7, 0x80 | value.length, ...value]);
}
