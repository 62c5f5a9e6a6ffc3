// The cluster dashboard: a live replica of the hub's state table, the director, and recent decisions.
import { LitElement, css, html } from 'lit';
import { sharedStyles } from '../styles/shared.js';
import { DashboardController, type DashboardConnection } from './dashboard-controller.js';
import { formatClock, formatMbps } from './format.js';
import { operatorToken } from './hub-socket.js';
import { SERVERS_PER_PAGE, paginate } from './paging.js';
import './baton-decision-log.js';
import './baton-director-panel.js';
import './baton-hub-list.js';
import './baton-server-card.js';
import './baton-world-map.js';

/** A server chosen this recently pulses on the map (ms). */
const HIGHLIGHT_MS = 10_000;

const CONNECTION_LABEL: Record<DashboardConnection, string> = {
  connecting: 'Connecting to the hub…',
  live: 'Live',
  resyncing: 'Resynchronising…',
  offline: 'Hub unreachable — retrying',
};

/** Why the hub dropped a server, in an operator's words. */
function departureReason(reason: string): string {
  if (reason === 'missed-heartbeats') return 'no heartbeat for 3 periods (the process died, hung, or lost its network)';
  if (reason === 'replaced') return 'a new process registered with its id';
  return `its connection closed (${reason})`;
}

/**
 * Read-only: everything shown arrives over the hub's `/dashboard` namespace.
 *
 * @csspart servers - the grid of server cards
 * @csspart pager - previous/next page of server cards (past SERVERS_PER_PAGE servers)
 */
export class BatonDashboard extends LitElement {
  static override properties = { _page: { state: true } };
  static override styles = [
    sharedStyles,
    css`
      :host {
        display: grid;
        gap: var(--bt-gap);
      }
      .page-head {
        display: flex;
        flex-wrap: wrap;
        align-items: flex-end;
        justify-content: space-between;
        gap: 8px 16px;
      }
      .page-head p {
        margin-top: 4px;
      }
      .conn {
        display: inline-flex;
        align-items: center;
        gap: 8px;
        font-size: 0.88rem;
        color: var(--bt-text-dim);
      }
      .banner {
        padding: 10px 14px;
        border-radius: var(--bt-radius-sm);
        background: var(--bt-err-soft);
        color: var(--bt-err);
        font-size: 0.9rem;
      }
      .summary {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(150px, 1fr));
        gap: 12px;
      }
      .summary .card {
        padding: 12px 14px;
      }
      .summary dd.director {
        color: var(--bt-director);
        font-family: var(--bt-mono);
      }
      .top {
        display: grid;
        grid-template-columns: minmax(0, 2fr) minmax(280px, 1fr);
        gap: var(--bt-gap);
      }
      @media (max-width: 900px) {
        .top {
          grid-template-columns: minmax(0, 1fr);
        }
      }
      .legend {
        display: flex;
        flex-wrap: wrap;
        gap: 6px 16px;
        margin-top: 10px;
        font-size: 0.8rem;
        color: var(--bt-text-dim);
      }
      .legend span {
        display: inline-flex;
        align-items: center;
        gap: 6px;
      }
      .ring {
        width: 10px;
        height: 10px;
        border-radius: 50%;
        border: 2px solid var(--bt-director);
      }
      .swatch {
        width: 8px;
        height: 8px;
        border-radius: 50%;
      }
      .servers {
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(300px, 1fr));
        gap: var(--bt-gap);
      }
      @media (max-width: 480px) {
        .servers {
          grid-template-columns: minmax(0, 1fr);
        }
      }
      .section-head {
        display: flex;
        flex-wrap: wrap;
        align-items: baseline;
        justify-content: space-between;
        gap: 4px 12px;
        margin-top: 4px;
      }
      .section-head span {
        font-size: 0.8rem;
      }
      .departures {
        list-style: none;
        margin: 0;
        padding: 8px 12px;
        border: 1px solid var(--bt-border);
        border-left: 3px solid var(--bt-err);
        border-radius: 8px;
        font-size: 0.85rem;
      }
      .departures li + li {
        margin-top: 4px;
      }
      .pager {
        display: flex;
        align-items: center;
        justify-content: flex-end;
        gap: 10px;
        font-size: 0.88rem;
        color: var(--bt-text-dim);
      }
    `,
  ];

  readonly #cluster = new DashboardController(this);
  /** Page of server cards shown (0-based). */
  _page = 0;

  override render() {
    const c = this.#cluster;
    const servers = c.servers;
    const now = Date.now();
    const sessions = servers.reduce((n, s) => n + s.load.sessions, 0);
    const egress = servers.reduce((n, s) => n + s.load.egressMbps, 0);
    const liveIds = new Set(servers.flatMap((s) => s.live.filter((l) => l.live).map((l) => l.id)));
    const latest = c.watchDecisions[0];
    const highlight = latest && now - latest.atMs < HIGHLIGHT_MS ? latest.serverId : null;
    const regions = new Map(servers.map((s) => [s.id, s.region]));
    const shown = paginate(servers, this._page, SERVERS_PER_PAGE);
    const dot = c.connection === 'live' ? 'ok' : c.connection === 'offline' ? 'err' : 'warn';
    // Refused for want of the right operator token: the hub is reachable, and retrying will not help.
    const needsToken = c.connection === 'offline' && /operator token required/.test(c.lastError ?? '');

    return html`
      <header class="page-head">
        <div>
          <h1>Cluster</h1>
          <p class="muted">The hub's state table, replicated here as it changes.</p>
        </div>
        <span class="conn" role="status"><span class="dot ${dot}"></span>${needsToken ? 'Operator token needed' : CONNECTION_LABEL[c.connection]}${
          c.loaded ? html`<span class="faint">· table v${c.version}</span>` : null
        }</span>
      </header>

      ${
        needsToken
          ? html`<p class="banner" role="alert" data-testid="token-needed">
            This hub shows its dashboard only with its operator token (the hub's <code>--operator-token</code>), and
            ${operatorToken() ? 'refused the one this page has' : 'this page has none'}. Open the page with it in the URL,
            <code>#/dashboard?token=…</code>, or reload and enter it when asked.
          </p>`
          : c.connection === 'offline'
            ? html`<p class="banner" role="alert">
            Cannot reach the hub${c.lastError ? ` (${c.lastError})` : ''}.${c.loaded ? ' Figures below are the last ones received.' : ''}
          </p>`
            : null
      }

      <dl class="summary">
        <div class="card stat"><dt>Servers</dt><dd data-testid="server-count">${c.loaded ? servers.length : '—'}</dd></div>
        <div class="card stat">
          <dt>Director</dt>
          <dd class="director">${c.director ? html`${c.director.id} <span class="faint">#${c.director.epoch}</span>` : '—'}</dd>
        </div>
        <div class="card stat"><dt>Sessions</dt><dd>${c.loaded ? sessions : '—'}</dd></div>
        <div class="card stat"><dt>Egress</dt><dd>${c.loaded ? formatMbps(egress) : '—'}</dd></div>
        <div class="card stat"><dt>Live streams</dt><dd>${c.loaded ? liveIds.size : '—'}</dd></div>
      </dl>

      <div class="top">
        <section class="card" aria-labelledby="map-title">
          <div class="card-head"><h2 id="map-title">Where the servers are</h2></div>
          <baton-world-map .servers=${servers} .highlight=${highlight}></baton-world-map>
          <div class="legend" aria-hidden="true">
            <span><i class="swatch" style="background:var(--bt-ok)"></i>load under 50%</span>
            <span><i class="swatch" style="background:var(--bt-warn)"></i>50–85%</span>
            <span><i class="swatch" style="background:var(--bt-err)"></i>over 85%</span>
            <span><i class="ring"></i>director</span>
          </div>
        </section>
        <baton-director-panel
          .director=${c.director}
          .history=${c.directorHistory}
          .nowMs=${now}
          .loaded=${c.loaded}
        ></baton-director-panel>
      </div>

      <baton-hub-list .source=${() => this.#cluster.hubs()}></baton-hub-list>

      <div class="section-head">
        <h2>Servers</h2>
        <span class="faint">load sampled each second · last 5 minutes</span>
      </div>
      ${
        c.departures.length
          ? html`<ul class="departures" data-testid="departures" aria-label="servers that left the cluster">
              ${c.departures.map(
                (d) => html`<li>
                  <b class="mono">${d.id}</b>${d.region ? html` <span class="faint">${d.region}</span>` : null} left the cluster
                  at ${formatClock(d.atMs)} — ${departureReason(d.reason)}
                </li>`,
              )}
            </ul>`
          : null
      }
      ${
        servers.length
          ? html`${this.#pager(shown, servers.length)}
            <div class="servers" part="servers">
              ${shown.items.map((s) => html`<baton-server-card .server=${s} .nowMs=${now}></baton-server-card>`)}
            </div>`
          : html`<p class="empty">
            ${
              c.loaded
                ? 'No servers connected. Media servers appear here as soon as they register with the hub.'
                : 'Waiting for the hub’s state table…'
            }
          </p>`
      }

      <baton-decision-log .watch=${c.watchDecisions} .ingest=${c.ingestDecisions} .regions=${regions} .live=${liveIds}></baton-decision-log>
    `;
  }

  #pager(shown: ReturnType<typeof paginate>, total: number) {
    if (shown.pages < 2) return null;
    const go = (page: number) => () => (this._page = page);
    return html`<nav class="pager" part="pager" aria-label="Server pages">
      <button type="button" data-testid="prev-page" ?disabled=${shown.page === 0} @click=${go(shown.page - 1)}>‹ Previous</button>
      <span data-testid="page-label">servers ${shown.first}–${shown.last} of ${total} · page ${shown.page + 1} of ${shown.pages}</span>
      <button type="button" data-testid="next-page" ?disabled=${shown.page >= shown.pages - 1} @click=${go(shown.page + 1)}>Next ›</button>
    </nav>`;
  }
}

customElements.define('baton-dashboard', BatonDashboard);

declare global {
  interface HTMLElementTagNameMap {
    'baton-dashboard': BatonDashboard;
  }
}
