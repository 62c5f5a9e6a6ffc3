// One media server's row of the state table: load and its recent history, sessions, cache, storage, live streams.
import { LitElement, css, html } from 'lit';
import { sharedStyles } from '../styles/shared.js';
import type { ServerView } from './dashboard-controller.js';
import { MAX_SAMPLES } from './dashboard-controller.js';
import { formatBytes, formatElapsed, formatLoad, formatMbps } from './format.js';
import './baton-sparkline.js';

/** Cached asset ids shown before "+N more". */
const MAX_CHIPS = 12;

/**
 * @csspart card - the card container
 */
export class BatonServerCard extends LitElement {
  static override properties = {
    server: { attribute: false },
    nowMs: { type: Number },
  };

  declare server: ServerView | null;
  /** The dashboard's clock, so "up for" ticks with the samples. */
  declare nowMs: number;

  static override styles = [
    sharedStyles,
    css`
      :host {
        display: block;
        min-width: 0;
      }
      .card {
        height: 100%;
        display: flex;
        flex-direction: column;
        gap: 14px;
      }
      .card.director {
        border-color: color-mix(in srgb, var(--bt-director) 55%, var(--bt-border));
      }
      header {
        display: flex;
        align-items: flex-start;
        justify-content: space-between;
        gap: 8px;
      }
      .title {
        min-width: 0;
      }
      .title h3 {
        font-family: var(--bt-mono);
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
      }
      .title p {
        font-size: 0.85rem;
      }
      .tags {
        display: flex;
        flex-wrap: wrap;
        justify-content: flex-end;
        gap: 4px;
      }
      .load {
        display: grid;
        grid-template-columns: auto 1fr;
        align-items: end;
        gap: 12px;
      }
      .load-value {
        font-size: 1.6rem;
        font-weight: 600;
        line-height: 1;
        font-variant-numeric: tabular-nums;
      }
      .load-value small {
        display: block;
        margin-top: 4px;
        font-size: 0.72rem;
        font-weight: 500;
        letter-spacing: 0.06em;
        text-transform: uppercase;
        color: var(--bt-text-faint);
      }
      .load-value.mid {
        color: var(--bt-warn);
      }
      .load-value.high {
        color: var(--bt-err);
      }
      baton-sparkline {
        height: 36px;
      }
      baton-sparkline.mid {
        color: var(--bt-warn);
      }
      baton-sparkline.high {
        color: var(--bt-err);
      }
      .stats {
        grid-template-columns: repeat(3, minmax(0, 1fr));
      }
      .stat dd {
        font-size: 0.95rem;
      }
      section h4 {
        margin: 0 0 6px;
        font-size: 0.72rem;
        font-weight: 600;
        letter-spacing: 0.06em;
        text-transform: uppercase;
        color: var(--bt-text-faint);
      }
      .none {
        font-size: 0.85rem;
        color: var(--bt-text-faint);
      }
      ul.live {
        margin: 0;
        padding: 0;
        list-style: none;
        display: grid;
        gap: 4px;
        font-size: 0.85rem;
      }
      ul.live li {
        display: flex;
        gap: 8px;
        align-items: center;
        min-width: 0;
      }
      ul.live .id {
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
      }
    `,
  ];

  constructor() {
    super();
    this.server = null;
    this.nowMs = Date.now();
  }

  override render() {
    const s = this.server;
    if (!s) return null;
    const level = s.overloaded || s.loadFactor >= 0.85 ? 'high' : s.loadFactor >= 0.5 ? 'mid' : '';
    const storedBytes = s.storage.reduce((sum, a) => sum + a.bytes, 0);
    return html`<article part="card" class="card ${s.isDirector ? 'director' : ''}" aria-label="server ${s.id}">
      <header>
        <div class="title">
          <h3 title=${s.id}>${s.id}</h3>
          <p class="muted" title="${s.lat.toFixed(2)}°, ${s.lon.toFixed(2)}°">${s.region} · <span class="faint">${s.roles.join(' + ')}</span></p>
        </div>
        <div class="tags">
          ${s.isDirector ? html`<span class="badge director">director</span>` : null}
          ${s.overloaded ? html`<span class="badge err">overloaded</span>` : null}
          ${
            s.load.storageWritable === false
              ? html`<span
                  class="badge err"
                  data-testid="storage-refuses"
                  title="Its storage directory takes no new file (gone, read-only or under 64 KiB free): the director sends it no broadcast until its next check (every 2 s) finds room"
                  >storage full</span
                >`
              : null
          }
        </div>
      </header>

      <div class="load">
        <div class="load-value ${level}">${formatLoad(s.loadFactor)}<small>load factor</small></div>
        <baton-sparkline class=${level} .values=${s.samples} .capacity=${MAX_SAMPLES} label="load factor of ${s.id}"></baton-sparkline>
      </div>

      <dl class="stats">
        <div class="stat"><dt>Sessions</dt><dd>${s.load.sessions} / ${s.maxSessions}</dd></div>
        <div class="stat"><dt>Egress</dt><dd title="of ${formatMbps(s.uplinkMbps)} uplink">${formatMbps(s.load.egressMbps)}</dd></div>
        <div class="stat"><dt>CPU</dt><dd>${Math.round(s.load.cpu * 100)}%</dd></div>
        <div class="stat"><dt>Storage</dt><dd title=${formatBytes(storedBytes)}>${s.storage.length} ${s.storage.length === 1 ? 'asset' : 'assets'}</dd></div>
        <div class="stat"><dt>Cached</dt><dd>${s.cache.length}</dd></div>
        <div class="stat"><dt>Up for</dt><dd>${formatElapsed(this.nowMs - s.joinedAtMs)}</dd></div>
      </dl>

      ${
        s.load.renditions
          ? html`<p class="renditions" data-testid="renditions-work" title="ffmpeg makes smaller renditions of stored assets, one at a time">
              Making <span class="mono">${s.load.renditions.id}</span> · ${Math.round(s.load.renditions.progress * 100)} %${
                s.load.renditions.queued ? html` · ${s.load.renditions.queued} waiting` : null
              }
            </p>`
          : null
      }
      <section>
        <h4>Cache</h4>
        ${
          s.cache.length
            ? html`<div class="chips">
              ${s.cache.slice(0, MAX_CHIPS).map((a) => html`<span class="chip" title=${a}>${a}</span>`)}
              ${s.cache.length > MAX_CHIPS ? html`<span class="chip faint">+${s.cache.length - MAX_CHIPS} more</span>` : null}
            </div>`
            : html`<p class="none">Nothing cached</p>`
        }
      </section>

      <section>
        <h4>Live streams</h4>
        ${
          s.live.length
            ? html`<ul class="live">
              ${s.live.map(
                (l) => html`<li>
                  <span class="badge ${l.live ? 'live' : ''}">${l.live ? 'live' : 'ended'}</span>
                  <span class="id mono" title=${l.id}>${l.id}</span>
                  <span class="faint nowrap">${formatBytes(l.bytes)}${l.peer ? html` · pair ${l.peer}` : null}</span>
                </li>`,
              )}
            </ul>`
            : html`<p class="none">No live streams</p>`
        }
      </section>
    </article>`;
  }
}

customElements.define('baton-server-card', BatonServerCard);

declare global {
  interface HTMLElementTagNameMap {
    'baton-server-card': BatonServerCard;
  }
}
