// The director's latest decisions: which server each viewer was sent to and why, and ingest assignments.
import { LitElement, css, html } from 'lit';
import type { IngestCandidates, IngestChoice } from '../../signaling/protocol/messages.js';
import { sharedStyles } from '../styles/shared.js';
import type { IngestDecision, WatchDecision } from './dashboard-controller.js';
import { formatClock, formatLoad, reasonExplanation, reasonLabel } from './format.js';

/**
 * @csspart selections - the viewer-selection list
 * @csspart ingest - the ingest-assignment list
 */
export class BatonDecisionLog extends LitElement {
  static override properties = {
    watch: { attribute: false },
    ingest: { attribute: false },
    regions: { attribute: false },
    live: { attribute: false },
  };

  /** Newest first. */
  declare watch: readonly WatchDecision[];
  /** Newest first. */
  declare ingest: readonly IngestDecision[];
  /** Server id → region, for servers still in the table. */
  declare regions: ReadonlyMap<string, string>;
  /**
   * Ids of the streams live in the table now. An assignment is a broadcast's start: its stream is marked live
   * only while it still is (most in the log ended long ago, and are stored assets now).
   */
  declare live: ReadonlySet<string>;

  static override styles = [
    sharedStyles,
    css`
      :host {
        display: grid;
        grid-template-columns: minmax(0, 3fr) minmax(0, 2fr);
        gap: var(--bt-gap);
      }
      @media (max-width: 900px) {
        :host {
          grid-template-columns: minmax(0, 1fr);
        }
      }
      ol {
        margin: 0;
        padding: 0;
        list-style: none;
        max-height: 380px;
        overflow-y: auto;
      }
      li {
        padding: 10px 0;
        border-top: 1px solid var(--bt-border);
        font-size: 0.9rem;
        display: grid;
        gap: 4px;
      }
      li:first-child {
        border-top: 0;
        padding-top: 0;
      }
      .line {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 6px 8px;
        min-width: 0;
      }
      .asset {
        font-family: var(--bt-mono);
        font-weight: 600;
        overflow-wrap: anywhere;
      }
      .arrow {
        color: var(--bt-text-faint);
      }
      time {
        margin-left: auto;
        font-variant-numeric: tabular-nums;
        color: var(--bt-text-faint);
        font-size: 0.82rem;
      }
      .detail {
        font-size: 0.8rem;
        color: var(--bt-text-dim);
      }
      .pair {
        display: grid;
        grid-template-columns: 5.2em 1fr;
        gap: 2px 8px;
        font-size: 0.85rem;
      }
      .pair dt {
        color: var(--bt-text-faint);
      }
      .pair dd {
        margin: 0;
        min-width: 0;
        overflow-wrap: anywhere;
      }
    `,
  ];

  constructor() {
    super();
    this.watch = [];
    this.ingest = [];
    this.regions = new Map();
    this.live = new Set();
  }

  override render() {
    return html`
      <section class="card" aria-labelledby="sel-title">
        <div class="card-head"><h2 id="sel-title">Viewer selections</h2><span class="faint">${this.watch.length || ''}</span></div>
        ${
          this.watch.length
            ? html`<ol part="selections" data-testid="selections">${this.watch.map((d) => this.#watchItem(d))}</ol>`
            : html`<p class="empty">No selections yet — one appears each time a viewer presses play.</p>`
        }
      </section>
      <section class="card" aria-labelledby="ingest-title">
        <div class="card-head"><h2 id="ingest-title">Ingest assignments</h2><span class="faint">${this.ingest.length || ''}</span></div>
        ${
          this.ingest.length
            ? html`<ol part="ingest">${this.ingest.map((d) => this.#ingestItem(d))}</ol>`
            : html`<p class="empty">No ingest assignments yet — one appears when a broadcaster goes live.</p>`
        }
      </section>
    `;
  }

  #watchItem(d: WatchDecision) {
    const region = this.regions.get(d.serverId);
    return html`<li>
      <div class="line">
        <span class="asset">${d.assetId}</span>
        <span class="arrow" aria-label="served by">→</span>
        <span class="mono">${d.serverId}</span>${region ? html`<span class="faint">${region}</span>` : null}
        <span class="badge reason-${d.reason}" title=${reasonExplanation(d.reason)}>${reasonLabel(d.reason)}</span>
        <time datetime=${new Date(d.atMs).toISOString()}>${formatClock(d.atMs)}</time>
      </div>
      <div class="detail">load factor ${formatLoad(d.loadFactor)} · epoch ${d.epoch} · ${reasonExplanation(d.reason)}</div>
    </li>`;
  }

  #ingestItem(d: IngestDecision) {
    return html`<li>
      <div class="line">
        ${this.live.has(d.streamId) ? html`<span class="badge live">live</span>` : null}
        <span class="asset">${d.streamId}</span>
        <time datetime=${new Date(d.atMs).toISOString()}>${formatClock(d.atMs)}</time>
      </div>
      <dl class="pair">
        <dt>Primary</dt>
        <dd>${this.#choice(d.primary)}</dd>
        <dt>Backup</dt>
        <dd>${d.backup ? this.#choice(d.backup) : html`<span class="muted">none available</span>`}</dd>
      </dl>
      <div class="detail">
        typed “${d.typed.label}”${d.ip ? html` · IP near ${d.ip.label}` : html` · IP not located`}${
          d.ipUnknown ? ' · backup chosen from the typed location' : ''
        }
        · epoch ${d.epoch}
      </div>
      ${d.candidates ? html`<div class="detail candidates">${candidatesText(d.candidates)}</div>` : null}
    </li>`;
  }

  #choice(c: IngestChoice) {
    return html`<span class="mono">${c.serverId}</span> <span class="faint">${c.region}</span> · ~${Math.round(c.rttMs)} ms from
      ${c.from.label} · load ${formatLoad(c.loadFactor)}`;
  }
}

/** The candidate step in words: which servers primary and backup were chosen among, and why those. */
export function candidatesText(c: IngestCandidates): string {
  return c.rule === 'nearest'
    ? `chosen among the ${c.nearestPerPlace} ingest servers nearest to each location with room: ${c.pool.join(', ')}`
    : `none of the nearest (${c.nearest.join(', ')}) had room; chosen among every ingest server with room: ${c.pool.join(', ')}`;
}

customElements.define('baton-decision-log', BatonDecisionLog);

declare global {
  interface HTMLElementTagNameMap {
    'baton-decision-log': BatonDecisionLog;
  }
}
