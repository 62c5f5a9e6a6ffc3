// Where a file broadcast stopped early (Ctrl-C) ends: at the first Cluster that starts at or after what was sent, so
// both copies end on whole media.
import { ClusterIndex } from './cluster-index.js';

/**
 * Fed the stream's bytes in order (`push`). After `stop()`, the bytes pushed are looked ahead at, not yet sent:
 * `boundary` is then where the stream should end, once they show it.
 */
export class ClusterStop {
  readonly #index = new ClusterIndex();
  /** Bytes sent when the stop was asked for. */
  #from: number | undefined;

  /** The bytes that follow everything pushed so far. */
  push(bytes: Uint8Array): void {
    this.#index.push(bytes);
  }

  /** End at the first Cluster that starts at or after the bytes pushed so far (idempotent: the first call counts). */
  stop(): void {
    this.#from ??= this.#index.bytes;
  }

  /** stop() was called. */
  get stopping(): boolean {
    return this.#from !== undefined;
  }

  /**
   * Where the stream ends: the first Cluster start at or after the stop point among the bytes pushed; undefined while
   * none is known (push more, or at the input's end send what is left: the end is a boundary too). A walk that stopped
   * on bytes it cannot read ends the stream where it was asked to stop: no boundary will come. With more than the
   * index's recent ring (64) of Clusters starting in the looked-at bytes it may be a later Cluster: still whole media.
   */
  get boundary(): number | undefined {
    const from = this.#from;
    if (from === undefined) return undefined;
    const next = this.#index.recentClusters().find((at) => at >= from);
    return next ?? (this.#index.stopped ? from : undefined);
  }
}
