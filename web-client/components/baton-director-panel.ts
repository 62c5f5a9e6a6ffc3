// The director on duty, its epoch and tenure, and the history of rotations.
import { LitElement, css, html } from 'lit';
import type { DirectorInfo } from '../../signaling/protocol/types.js';
import { sharedStyles } from '../styles/shared.js';
import type { DirectorTenure } from './dashboard-controller.js';
import { formatClock, formatElapsed } from './format.js';

/**
 * @csspart card - the panel container
 */
export class BatonDirectorPanel extends LitElement {
  static override properties = {
    director: { attribute: false },
    history: { attribute: false },
    nowMs: { type: Number },
    loaded: { type: Boolean },
  };

  declare director: DirectorInfo | null;
  /** Newest first. */
  declare history: readonly DirectorTenure[];
  declare nowMs: number;
  /** False until the first snapshot: no claim about the director before then. */
  declare loaded: boolean;

  static override styles = [
    sharedStyles,
    css`
      :host {
        display: block;
        min-width: 0;
      }
      .card {
        height: 100%;
      }
      .current {
        display: flex;
        align-items: center;
        gap: 14px;
        padding: 14px;
        border-radius: var(--bt-radius-sm);
        background: var(--bt-director-soft);
        margin-bottom: 16px;
      }
      .baton {
        flex: none;
        width: 40px;
        height: 40px;
        border-radius: 50%;
        display: grid;
        place-items: center;
        background: var(--bt-director);
        color: var(--bt-bg);
      }
      .current .id {
        font-family: var(--bt-mono);
        font-size: 1.2rem;
        font-weight: 600;
        overflow-wrap: anywhere;
      }
      .current p {
        font-size: 0.88rem;
      }
      .vacant {
        background: var(--bt-warn-soft);
      }
      .vacant .baton {
        background: var(--bt-warn);
      }
      ol {
        margin: 0;
        padding: 0;
        list-style: none;
        display: grid;
        gap: 0;
        max-height: 260px;
        overflow-y: auto;
      }
      li {
        display: grid;
        /* Epochs grow for as long as the cluster runs: the column widens rather than wrap "epoch 12345". */
        grid-template-columns: minmax(4.6em, max-content) 1fr auto;
        gap: 10px;
        align-items: baseline;
        padding: 7px 0;
        border-top: 1px solid var(--bt-border);
        font-size: 0.88rem;
      }
      li:first-child {
        border-top: 0;
      }
      .epoch {
        font-variant-numeric: tabular-nums;
        color: var(--bt-text-faint);
        white-space: nowrap;
      }
      .who {
        min-width: 0;
        overflow-wrap: anywhere;
      }
      .why {
        display: block;
        font-size: 0.8rem;
        color: var(--bt-text-dim);
      }
      time {
        font-variant-numeric: tabular-nums;
        color: var(--bt-text-faint);
        white-space: nowrap;
      }
    `,
  ];

  constructor() {
    super();
    this.director = null;
    this.history = [];
    this.nowMs = Date.now();
    this.loaded = false;
  }

  override render() {
    return html`<section part="card" class="card" aria-labelledby="director-title">
      <div class="card-head"><h2 id="director-title">Director</h2></div>
      ${this.#current()}
      <h2>Rotation history</h2>
      ${
        this.history.length
          ? html`<ol>
            ${this.history.map(
              (t) => html`<li>
                <span class="epoch">${t.epoch === null ? '—' : `epoch ${t.epoch}`}</span>
                <span class="who">
                  ${t.id ? html`<span class="mono">${t.id}</span>` : html`<span class="muted">no director</span>`}
                  ${t.reason ? html`<span class="why">${t.reason}</span>` : null}
                </span>
                <time datetime=${new Date(t.atMs).toISOString()}>${formatClock(t.atMs)}</time>
              </li>`,
            )}
          </ol>`
          : html`<p class="empty" style="margin-top:8px">No rotations seen yet.</p>`
      }
    </section>`;
  }

  #current() {
    if (!this.loaded) return html`<div class="current vacant"><div class="baton">${batonIcon}</div><p>Waiting for the hub…</p></div>`;
    const d = this.director;
    if (!d) {
      return html`<div class="current vacant">
        <div class="baton">${batonIcon}</div>
        <div><p class="id">No director</p><p class="muted">The hub hands the baton to a server as soon as one joins.</p></div>
      </div>`;
    }
    return html`<div class="current" data-testid="director">
      <div class="baton">${batonIcon}</div>
      <div>
        <p class="id">${d.id}</p>
        <p class="muted">epoch ${d.epoch} · holding the baton for ${formatElapsed(Math.max(0, this.nowMs - d.sinceMs))}</p>
      </div>
    </div>`;
  }
}

const batonIcon = html`<svg width="20" height="20" viewBox="0 0 24 24" aria-hidden="true"><path fill="currentColor" d="M4.2 18.4 15.9 6.7l1.4 1.4L5.6 19.8a1 1 0 0 1-1.4-1.4Zm13.2-13.2a2 2 0 1 1 2.8 2.8 2 2 0 0 1-2.8-2.8Z"/></svg>`;

customElements.define('baton-director-panel', BatonDirectorPanel);

declare global {
  interface HTMLElementTagNameMap {
    'baton-director-panel': BatonDirectorPanel;
  }
}
