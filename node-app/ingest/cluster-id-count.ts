// Counts the Cluster ids in bytes sent one piece after another, for a publisher pacing itself to the Cluster charge
// of the bitrate quota (`IngestLimits.clusterBytes`).

const CLUSTER_ID = [0x1f, 0x43, 0xb6, 0x75] as const;

/**
 * Every Cluster of a WebM stream starts with the 4-byte id; payload bytes may hold it too, so this counts at least
 * the Clusters the server indexes (never fewer): pacing by it stays within the quota. An id split between two
 * pieces is counted once.
 */
export class ClusterIdCount {
  #count = 0;
  /** How many bytes of the id the previous piece ended with. */
  #matched = 0;

  get count(): number {
    return this.#count;
  }

  /** Ids in `bytes`, and in the stream so far once added. */
  push(bytes: Uint8Array): number {
    let n = 0;
    let m = this.#matched;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      if (b === CLUSTER_ID[m]) {
        if (++m === 4) {
          n++;
          m = 0;
        }
      } else m = b === CLUSTER_ID[0] ? 1 : 0;
    }
    this.#matched = m;
    this.#count += n;
    return n;
  }
}
