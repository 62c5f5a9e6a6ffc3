// The cluster's hubs beside its servers: one alone, or several on Redis with the one that holds the rotation lease.
import { LitElement, css, html } from 'lit';
import { hubListSchema, type HubListEntry } from '../../client-sdk/hub-replies.js';
import { parse } from '../../signaling/protocol/messages.js';
import { sharedStyles } from '../styles/shared.js';
import { operatorToken } from './hub-socket.js';

/** How often the list is fetched again (each hub reports itself to Redis once per heartbeat period). */
export const HUB_LIST_REFRESH_MS = 2_000;

/**
 * Polls `/api/hubs` while on the page. A hub that stops reporting drops out of the list
 * (its entry expires in Redis with its hub); an unreachable Redis shows as a note.
 * @csspart card - the section container
 */
/** `GET /api/hubs` on the page's own origin. */
async function fetchHubList(): Promise<unknown> {
  const token = operatorToken();
  const res = await fetch('/api/hubs', token ? { headers: { authorization: `Bearer ${token}` } } : {});
  const body: unknown = await res.json();
  if (!res.ok) throw new Error((body as { error?: string })?.error ?? `HTTP ${res.status}`);
  return body;
}

export class BatonHubList extends LitElement {
  static override properties = { _hubs: { state: true }, _error: { state: true } };
  declare _hubs: HubListEntry[] | null;
  declare _error: string | null;
  /**
   * Where the list comes from: the dashboard's socket (`hubs`), which moves to another hub when its hub dies; without
   * it, or while it answers undefined (not connected), `GET /api/hubs` on the page's own origin.
   */
  source: (() => Promise<unknown>) | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;

  static override styles = [
    sharedStyles,
    css`
      :host {
        display: block;
        /* A grid item: without this the table's width widens the page on a phone instead of scrolling inside .wrap. */
        min-width: 0;
      }
      table {
        width: 100%;
        border-collapse: collapse;
        font-size: 13px;
      }
      th,
      td {
        text-align: left;
        padding: 6px 10px;
        border-bottom: 1px solid var(--bt-border);
      }
      td.num {
        font-variant-numeric: tabular-nums;
      }
      .card-head {
        flex-wrap: wrap;
      }
      .wrap {
        overflow-x: auto;
        max-width: 100%;
      }
      td.url {
        word-break: break-all;
      }
      @media (max-width: 640px) {
        .url {
          display: none;
        }
        th,
        td {
          padding: 6px 6px;
        }
      }
      .lease {
        color: var(--bt-director);
        font-weight: 600;
      }
    `,
  ];

  constructor() {
    super();
    this._hubs = null;
    this._error = null;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void this.#load();
    this.#timer = setInterval(() => void this.#load(), HUB_LIST_REFRESH_MS);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearInterval(this.#timer);
  }

  async #load(): Promise<void> {
    try {
      const body = (await this.source?.()) ?? (await fetchHubList());
      const p = parse(hubListSchema, body);
      if (!p.ok) throw new Error(`unexpected answer: ${p.message}`);
      this._hubs = p.value.hubs;
      this._error = null;
    } catch (err) {
      this._error = (err as Error).message;
    }
  }

  override render() {
    const hubs = this._hubs;
    // Attachments exist only between hubs: a lone hub's column would always read 0.
    const several = (hubs?.length ?? 0) > 1;
    return html`<section class="card" part="card" aria-labelledby="hubs-title">
      <div class="card-head">
        <h2 id="hubs-title">Hubs</h2>
        <span class="faint">${hubs && hubs.length > 1 ? 'several hubs share this cluster through Redis' : 'one hub'}</span>
      </div>
      ${this._error ? html`<p class="banner" role="alert">Hub list unavailable: ${this._error}</p>` : null}
      ${
        hubs
          ? html`<div class="wrap"><table data-testid="hub-list">
              <thead><tr><th>Hub</th><th class="url">URL</th><th>Clients</th><th>Servers</th>${several ? html`<th title="servers registered with another hub that this hub reaches directly">Attached</th>` : null}<th>Lease</th></tr></thead>
              <tbody>
                ${hubs.map(
                  (h) => html`<tr>
                    <td>${h.id}</td>
                    <td class="faint url">${h.url}</td>
                    <td class="num">${h.clients}</td>
                    <td class="num">${h.servers}</td>
                    ${several ? html`<td class="num">${h.attached}</td>` : null}
                    <td>${h.leaseHolder ? html`<span class="lease">holder</span>` : ''}</td>
                  </tr>`,
                )}
              </tbody>
            </table></div>`
          : this._error
            ? null
            : html`<p class="faint">Loading…</p>`
      }
    </section>`;
  }
}

customElements.define('baton-hub-list', BatonHubList);

declare global {
  interface HTMLElementTagNameMap {
    'baton-hub-list': BatonHubList;
  }
}
