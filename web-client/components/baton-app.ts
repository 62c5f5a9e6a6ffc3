// The app shell: one navigation bar and the page the hash route names.
import { LitElement, css, html } from 'lit';
import { sharedStyles } from '../styles/shared.js';
import { HashRouteController, hrefFor, type Page } from './hash-route.js';
import { ON_AIR_EVENT } from './on-air.js';
import './baton-player.js';

const PAGES: ReadonlyArray<{ page: Page; label: string }> = [
  { page: 'watch', label: 'Watch' },
  { page: 'broadcast', label: 'Broadcast' },
  { page: 'dashboard', label: 'Dashboard' },
];

/**
 * @csspart nav - the navigation bar
 * @csspart main - the page container
 */
export class BatonApp extends LitElement {
  static override styles = [
    sharedStyles,
    css`
      :host {
        display: flex;
        flex-direction: column;
        min-height: 100vh;
      }
      .bar {
        position: sticky;
        top: 0;
        z-index: 10;
        background: color-mix(in srgb, var(--bt-bg) 88%, transparent);
        backdrop-filter: blur(8px);
        border-bottom: 1px solid var(--bt-border);
      }
      nav {
        max-width: var(--bt-max-width);
        margin: 0 auto;
        padding: 0 24px;
        height: 56px;
        display: flex;
        align-items: center;
        gap: 28px;
      }
      .brand {
        display: inline-flex;
        align-items: center;
        gap: 10px;
        color: var(--bt-text);
        text-decoration: none;
        font-weight: 700;
        font-size: 1.05rem;
        letter-spacing: -0.01em;
      }
      .on-air {
        margin-left: auto;
        padding: 3px 10px;
        border-radius: 999px;
        background: var(--bt-live, #d33);
        color: #fff;
        font-weight: 700;
        font-size: 0.8rem;
        text-decoration: none;
      }
      .brand svg {
        color: var(--bt-director);
      }
      ul {
        display: flex;
        gap: 4px;
        margin: 0;
        padding: 0;
        list-style: none;
      }
      ul a {
        display: block;
        padding: 6px 12px;
        border-radius: var(--bt-radius-sm);
        color: var(--bt-text-dim);
        text-decoration: none;
        font-weight: 500;
        font-size: 0.95rem;
      }
      ul a:hover {
        color: var(--bt-text);
        background: var(--bt-surface-2);
      }
      ul a[aria-current='page'] {
        color: var(--bt-text);
        background: var(--bt-surface-3);
      }
      main {
        flex: 1;
        width: 100%;
        max-width: var(--bt-max-width);
        margin: 0 auto;
        padding: 24px;
      }
      footer {
        max-width: var(--bt-max-width);
        width: 100%;
        margin: 0 auto;
        padding: 16px 24px 24px;
        font-size: 0.8rem;
        color: var(--bt-text-faint);
      }
      @media (max-width: 560px) {
        nav {
          padding: 0 14px;
          gap: 12px;
        }
        .brand span {
          display: none;
        }
        ul a {
          padding: 6px 9px;
        }
        main {
          padding: 16px 14px;
        }
        footer {
          padding: 12px 14px 20px;
        }
      }
    `,
  ];

  readonly #router = new HashRouteController(this);
  /** A broadcast is on air: its page stays mounted (hidden) whatever page is shown, and the nav says so. */
  #onAir = false;
  /** The page (and, on the player, the stream) shown at the last render; null before the first. */
  #shown: string | null = null;

  constructor() {
    super();
    this.addEventListener(ON_AIR_EVENT, (e) => {
      this.#onAir = e.detail.live;
      this.requestUpdate();
    });
  }

  override render() {
    const route = this.#router.route;
    return html`
      <header class="bar">
        <nav part="nav" aria-label="Main">
          <a class="brand" href=${hrefFor('watch')}>${logo}<span>Baton</span></a>
          <ul>
            ${PAGES.map(
              (p) => html`<li>
                <a href=${hrefFor(p.page, p.page === 'watch' && route.page === 'watch' ? route.asset : null)} aria-current=${route.page === p.page ? 'page' : 'false'}
                  >${p.label}</a
                >
              </li>`,
            )}
          </ul>
          ${this.#onAir ? html`<a class="on-air" href=${hrefFor('broadcast')} data-testid="nav-on-air" title="Your broadcast is live">● LIVE</a>` : null}
        </nav>
      </header>
      <main part="main">
        ${route.page === 'broadcast' ? null : this.#page()}
        ${route.page === 'broadcast' || this.#onAir ? html`<div ?hidden=${route.page !== 'broadcast'}>${this.#broadcaster()}</div>` : null}
      </main>
      <footer>Baton · a WebRTC streaming network with a rotating director</footer>
    `;
  }

  protected override updated(): void {
    const route = this.#router.route;
    const title =
      route.page === 'watch' ? (route.asset ? `${route.asset} · Watch` : 'Watch') : route.page === 'dashboard' ? 'Dashboard' : 'Broadcast';
    document.title = `${title} · Baton`;
    // Another page, or another stream picked (from the catalog, which a phone shows below the player), starts at the top:
    // the browser keeps the scroll of what was shown, which left a phone's player off screen and a page shown mid-way.
    const shown = route.page === 'watch' ? `watch:${route.asset ?? ''}` : route.page;
    if (this.#shown !== null && shown !== this.#shown) window.scrollTo(0, 0);
    this.#shown = shown;
  }

  #page() {
    const route = this.#router.route;
    switch (route.page) {
      case 'watch':
        return html`<baton-player .asset=${route.asset} .latency=${route.latency ?? null} .limitKbps=${route.limitKbps ?? null}></baton-player>`;
      case 'dashboard':
        // Loaded on demand, like the broadcaster: a viewer's first frame does not wait for the map and charts.
        void import('./baton-dashboard.js');
        return html`<baton-dashboard></baton-dashboard>`;
      case 'broadcast':
        return null;
    }
  }

  #broadcaster() {
    // Loaded on demand: viewers never pay for the recorder and the publisher.
    void import('./baton-broadcaster.js');
    return html`<baton-broadcaster></baton-broadcaster>`;
  }
}

const logo = html`<svg width="22" height="22" viewBox="0 0 24 24" aria-hidden="true">
  <circle cx="12" cy="12" r="10.5" fill="none" stroke="currentColor" stroke-width="1.6" opacity="0.45" />
  <path fill="currentColor" d="M6.3 17.7 15.4 8.6l1.4 1.4-9.1 9.1a1 1 0 0 1-1.4-1.4Zm10.4-10.4a1.6 1.6 0 1 1 2.3 2.3 1.6 1.6 0 0 1-2.3-2.3Z" />
</svg>`;

customElements.define('baton-app', BatonApp);

declare global {
  interface HTMLElementTagNameMap {
    'baton-app': BatonApp;
  }
}
