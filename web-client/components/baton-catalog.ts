// The catalog of streams the cluster can serve (poster, title, description, viewers); each entry links to the
// player's hash route. The search box asks the hub, which searches every entry and whole descriptions (a page
// holds ≤ MAX_CATALOG_PAGE entries with description excerpts); until its answer comes, the loaded page is filtered.
import { LitElement, css, html } from 'lit';
import { matchesWords, queryWords, searchText } from '../../common/catalog-search.js';
import type { CatalogEntry } from '../../signaling/protocol/messages.js';
import type { SearchResults } from './catalog-source.js';
import { sharedStyles } from '../styles/shared.js';
import { fieldStyles } from './baton-place-field.js';
import { codecsOf, formatBitrate, formatBytes, formatDuration, thousands } from './format.js';
import { hrefFor } from './hash-route.js';

/**
 * @fires baton-refresh - the user asked for the catalog again
 * @fires baton-search - the search box changed (detail: the query)
 * @csspart list - the list of entries
 */
export class BatonCatalog extends LitElement {
  static override properties = {
    entries: { attribute: false },
    results: { attribute: false },
    selected: { type: String },
    loaded: { type: Boolean },
    error: { type: String },
    offline: { type: Boolean },
    _query: { state: true },
  };

  declare entries: readonly CatalogEntry[];
  /** The hub's answer to a search (whichever query it was for; a stale one is not shown). */
  declare results: SearchResults | null;
  declare selected: string | null;
  /** False until the first answer: "empty" is only claimed after one. */
  declare loaded: boolean;
  declare error: string | null;
  declare offline: boolean;
  declare _query: string;

  static override styles = [
    sharedStyles,
    fieldStyles,
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
      .search {
        padding: 0 14px 8px;
      }
      .search .count {
        font-size: 0.78rem;
        color: var(--bt-text-faint);
        margin-top: 4px;
      }
      a.entry {
        display: grid;
        grid-template-columns: 112px minmax(0, 1fr);
        column-gap: 12px;
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
      .poster {
        width: 112px;
        aspect-ratio: 16 / 9;
        object-fit: cover;
        border-radius: var(--bt-radius-sm);
        background: var(--bt-surface-2);
        display: block;
      }
      .text {
        display: grid;
        gap: 3px;
        min-width: 0;
      }
      .title {
        font-weight: 600;
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
      }
      .desc {
        font-size: 0.82rem;
        color: var(--bt-text-dim);
        display: -webkit-box;
        -webkit-line-clamp: 2;
        -webkit-box-orient: vertical;
        overflow: hidden;
      }
      .watching {
        color: var(--bt-text);
      }
      .name {
        display: flex;
        align-items: center;
        gap: 8px;
        min-width: 0;
      }
      .name .id {
        font-family: var(--bt-mono);
        font-size: 0.8rem;
        color: var(--bt-text-dim);
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
    this._query = '';
    this.results = null;
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
    const query = this._query.trim();
    const answer = query && this.results?.query.trim() === query ? this.results : null;
    const shown = answer ? answer.assets : filterCatalog(this.entries, this._query);
    const total = answer ? answer.total : this.entries.length;
    return html`<div class="search">
        <input
          type="search"
          data-testid="catalog-search"
          aria-label="Search the catalog"
          placeholder="Search titles, descriptions, ids"
          maxlength="200"
          .value=${this._query}
          @input=${(e: Event) => {
            this._query = (e.target as HTMLInputElement).value;
            this.dispatchEvent(new CustomEvent('baton-search', { detail: this._query, bubbles: true, composed: true }));
          }}
        />
        ${
          query
            ? html`<p class="count" role="status" data-testid="search-count" data-searched=${answer ? 'hub' : 'page'}>
                ${answer ? (shown.length < total ? `${shown.length} shown of ${thousands(total)} matches` : `${thousands(total)} ${total === 1 ? 'match' : 'matches'}`) : `${shown.length} of ${thousands(total)} loaded…`}
              </p>`
            : null
        }
      </div>
      ${shown.length === 0 ? html`<p class="empty note">Nothing matches “${this._query.trim()}”.</p>` : null}
      <ul part="list">
      ${shown.map(
        (e) => html`<li>
          <a class="entry" data-testid="catalog-entry" data-asset=${e.id} href=${hrefFor('watch', e.id)} aria-current=${e.id === this.selected ? 'true' : 'false'}>
            ${
              e.posterUrl
                ? html`<img class="poster" data-testid="poster" src=${e.posterUrl} alt="" loading="lazy" decoding="async" width="112" height="63" />`
                : html`<span class="poster" aria-hidden="true"></span>`
            }
            <span class="text">
            <span class="name">
              ${e.live ? html`<span class="badge live">live</span>` : null}
              <span class="title" data-testid="title" title=${e.title ?? e.id}><bdi>${e.title ?? e.id}</bdi></span>
            </span>
            ${e.title ? html`<span class="name"><span class="id" title=${e.id}>${e.id}</span></span>` : null}
            ${e.description ? html`<span class="desc" data-testid="description" title=${e.description}><bdi>${e.description}</bdi></span>` : null}
            <span class="facts">
              ${e.viewers ? html`<span class="watching" data-testid="viewers" data-viewers=${e.viewers}>${watching(e.viewers)}</span>` : null}
              ${e.durationMs !== undefined ? html`<span>${formatDuration(e.durationMs)}</span>` : null}
              <span>${formatBytes(e.bytes)}</span>
              ${e.bitrateBps !== undefined ? html`<span>${formatBitrate(e.bitrateBps)}</span>` : null}
              <span class="mono">${codecsOf(e.mime)}</span>
              ${
                e.renditions?.length
                  ? html`<span class="renditions" data-testid="renditions" title="Renditions the player can switch to"
                      >${[e.heightPx, ...e.renditions.map((r) => r.heightPx)]
                        .filter(Boolean)
                        .map((h) => `${h}p`)
                        .join(' · ')}</span
                    >`
                  : null
              }
            </span>
            <span class="holders">
              ${
                e.holders.length
                  ? `on ${e.holders.length === 1 ? '1 server' : `${e.holders.length} servers`}: ${e.holders.join(', ')}`
                  : 'no server holds it right now'
              }
            </span>
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

/** "1 watching", "1,200 watching". */
export function watching(n: number): string {
  return `${thousands(n)} watching`;
}

/**
 * The loaded entries whose title, description or id contain every word of `query` (case- and accent-blind):
 * what the box shows until the hub's answer, which searches the whole catalog, comes.
 */
export function filterCatalog(entries: readonly CatalogEntry[], query: string): readonly CatalogEntry[] {
  const words = queryWords(query);
  if (words.length === 0) return entries;
  return entries.filter((e) => matchesWords(searchText(e), words));
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
