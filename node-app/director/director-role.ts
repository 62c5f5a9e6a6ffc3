// The director role on a media server: answers the hub's `select` and `select-ingest`
// from this server's replica while it holds the baton for the asked epoch.
import {
  DEFAULT_LOAD_WEIGHTS,
  ErrorCode,
  ackError,
  parse,
  selectIngestRequestSchema,
  selectRequestSchema,
  type Ack,
  type IngestDecision,
  type LoadWeights,
  type SelectDecision,
  type StateTable,
} from '../../signaling/protocol/index.js';
import { DEFAULT_LOAD_BOUND, placeViewer, type SelectOptions } from './select.js';
import { selectIngest } from './select-ingest.js';

export interface DirectorRoleOptions {
  /** This server's id: the role answers only while the replica names it director. */
  selfId: string;
  table: StateTable;
  weights?: LoadWeights;
  /** ε of the bounded loads; null turns the relative bound off. Default `DEFAULT_LOAD_BOUND`. */
  loadBound?: number | null;
  /** Each viewer selection's outcome (a reason or an error code), for metrics. */
  onDecision?: (result: string) => void;
}

export class DirectorRole {
  readonly #o: DirectorRoleOptions;

  constructor(opts: DirectorRoleOptions) {
    this.#o = opts;
  }

  /** True while the replica names this server director. */
  get active(): boolean {
    return this.#o.table.director?.id === this.#o.selfId;
  }

  /** The director policy's options as this server runs them (also shown in /api/status). */
  get selectOptions(): SelectOptions {
    const loadBound = this.#o.loadBound === undefined ? DEFAULT_LOAD_BOUND : this.#o.loadBound;
    return { weights: this.#o.weights ?? DEFAULT_LOAD_WEIGHTS, ...(loadBound === null ? {} : { loadBound }) };
  }

  /** The hub's `select`: where one viewer should watch from. */
  select(raw: unknown, ack: (r: Ack<SelectDecision>) => void): void {
    if (typeof ack !== 'function') return;
    const p = parse(selectRequestSchema, raw);
    if (!p.ok) return ack(ackError(ErrorCode.badRequest, p.message));
    if (this.#fenced(p.value.epoch)) return ack(ackError(ErrorCode.staleEpoch, `not the director for epoch ${p.value.epoch}`));
    const r = placeViewer(this.#o.table, { assetId: p.value.assetId, exclude: p.value.exclude }, this.#o.selfId, this.selectOptions);
    this.#o.onDecision?.(r.ok ? r.reason : r.code);
    ack(r.ok ? { ...r, epoch: p.value.epoch } : r);
  }

  /** The hub's `select-ingest`: a broadcaster's primary and backup entry servers. */
  selectIngest(raw: unknown, ack: (r: Ack<IngestDecision>) => void): void {
    if (typeof ack !== 'function') return;
    const p = parse(selectIngestRequestSchema, raw);
    if (!p.ok) return ack(ackError(ErrorCode.badRequest, p.message));
    if (this.#fenced(p.value.epoch)) return ack(ackError(ErrorCode.staleEpoch, `not the director for epoch ${p.value.epoch}`));
    const r = selectIngest(
      this.#o.table,
      { typed: p.value.typed, ip: p.value.ip, exclude: p.value.exclude, ...(p.value.only ? { only: p.value.only } : {}) },
      { weights: this.#o.weights ?? DEFAULT_LOAD_WEIGHTS },
    );
    ack(r.ok ? { ...r, epoch: p.value.epoch } : r);
  }

  /** A request for another epoch (or while another server directs) is refused: the hub asks the current one. */
  #fenced(epoch: number): boolean {
    const d = this.#o.table.director;
    return !d || d.id !== this.#o.selfId || d.epoch !== epoch;
  }
}
