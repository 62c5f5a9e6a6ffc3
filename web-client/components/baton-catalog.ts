// The catalog of streams the cluster can serve; each entry links to the player's hash route.
import { LitElement, css, html } from 'lit';
import type { CatalogEntry } from '../../signaling/protocol/messages.js';
import { sharedStyles } from '../styles/shared.js';
import { codecsOf, formatBitrate, formatBytes, formatDuration } from './format.js';
import { hrefFor } from './hash-route.js';

/**
 * @fires baton-refresh - the user asked for the catalog again
 * @csspart list - the list of entries
 */
export class BatonCatalog extends LitElement {
  static override properties = {
    entries: { attribute: false },
    selected: { type: String },
    loaded: { type: Boolean },
    error: { type: String },
    offline: { type: Boolean },
  };

  declare entries: readonly CatalogEntry[];
  declare selected: string | null;
  /** False until the first answer: "empty" is only claimed after one. */
  declare loaded: boolean;
  declare error: string | null;
  declare offline: boolean;

  static override styles = [
    sharedStyles,
    css`
      :host {
        display: block;
        min-width: 0;
      }
      .card {
        padding: 14px 0 6px;
      }
      .card-head {
        padding: 0 14px;
      }
      ul {
        margin: 0;
        padding: 0;
        list-style: none;
        max-height: min(70vh, 640px);
        overflow-y: auto;
      }
      a.entry {
        display: grid;
        gap: 3px;
        padding: 10px 14px;
        color: inherit;
        text-decoration: none;
        border-left: 3px solid transparent;
      }
      a.entry:hover {
        background: var(--bt-surface-2);
      }
      a.entry[aria-current='true'] {
        background: var(--bt-accent-soft);
        border-left-color: var(--bt-accent);
      }
      .name {
        display: flex;
        align-items: center;
        gap: 8px;
        min-width: 0;
      }
      .name .id {
        font-family: var(--bt-mono);
        font-weight: 600;
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
      }
      .facts {
        font-size: 0.8rem;
        color: var(--bt-text-dim);
        display: flex;
        flex-wrap: wrap;
        gap: 2px 10px;
      }
      .holders {
        font-size: 0.78rem;
        color: var(--bt-text-faint);
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
      }
      .note {
        margin: 4px 14px 10px;
      }
      .error {
        color: var(--bt-err);
        font-size: 0.85rem;
        padding: 0 14px 8px;
      }
    `,
  ];

  constructor() {
    super();
    this.entries = [];
    this.selected = null;
    this.loaded = false;
    this.error = null;
    this.offline = false;
  }

  override render() {
    return html`<section class="card" aria-labelledby="catalog-title">
      <div class="card-head">
        <h2 id="catalog-title">Catalog</h2>
        <button @click=${this.#refresh} ?disabled=${this.offline} title="Fetch the catalog again">Refresh</button>
      </div>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : null} ${this.#body()}
    </section>`;
  }

  #body() {
    if (!this.loaded) {
      return html`<p class="empty note">${this.offline ? 'The catalog comes from the hub, which is unreachable.' : 'Loading the catalog…'}</p>`;
    }
    if (this.entries.length === 0) {
      return html`<p class="empty note">No streams yet. Servers announce what they store when they join; live broadcasts appear here too.</p>`;
    }
    return html`<ul part="list">
      ${this.entries.map(
        (e) => html`<li>
          <a class="entry" href=${hrefFor('watch', e.id)} aria-current=${e.id === this.selected ? 'true' : 'false'}>
            <span class="name">
              ${e.live ? html`<span class="badge live">live</span>` : null}
              <span class="id" title=${e.id}>${e.id}</span>
            </span>
            <span class="facts">
              ${e.durationMs !== undefined ? html`<span>${formatDuration(e.durationMs)}</span>` : null}
              <span>${formatBytes(e.bytes)}</span>
              ${e.bitrateBps !== undefined ? html`<span>${formatBitrate(e.bitrateBps)}</span>` : null}
              <span class="mono">${codecsOf(e.mime)}</span>
            </span>
            <span class="holders">
              ${
                e.holders.length
                  ? `on ${e.holders.length === 1 ? '1 server' : `${e.holders.length} servers`}: ${e.holders.join(', ')}`
                  : 'no server holds it right now'
              }
            </span>
          </a>
        </li>`,
      )}
    </ul>`;
  }

  #refresh(): void {
    this.dispatchEvent(new CustomEvent('baton-refresh', { bubbles: true, composed: true }));
  }
}

customElements.define('baton-catalog', BatonCatalog);

declare global {
  interface HTMLElementTagNameMap {
    'baton-catalog': BatonCatalog;
  }
  interface HTMLElementEventMap {
    'baton-refresh': CustomEvent<void>;
  }
}
