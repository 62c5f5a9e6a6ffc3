// Hash routes (`#/watch?asset=ID`, `#/broadcast`, `#/dashboard`) and a controller that follows them.
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { MAX_LINK_LIMIT_BPS, MIN_LINK_LIMIT_BPS } from '../../signaling/protocol/link-limit.js';

export type Route =
  | {
      page: 'watch';
      asset: string | null;
      /** `t=`: seconds to start at. */
      t?: number;
      /** `limit=`: kbit/s every session of the player asks the server not to exceed (a slow link, or a test playing one). */
      limitKbps?: number;
      /** `latency=low` plays live streams over WebRTC media (WHEP), `latency=normal` over the data channel. */
      latency?: 'low' | 'normal';
    }
  | { page: 'broadcast' }
  | { page: 'dashboard' };

export type Page = Route['page'];

/** The `limit=` a watch URL may carry (kbit/s): the bounds of the `limit` control frame; anything else is ignored. */
export const MIN_LIMIT_KBPS = MIN_LINK_LIMIT_BPS / 1000;
export const MAX_LIMIT_KBPS = MAX_LINK_LIMIT_BPS / 1000;

/** The largest `t=` a watch URL may carry (s, about 31 years): its milliseconds stay an exact integer, as `play {timeMs}` needs. */
export const MAX_START_SECONDS = 1e9;

/** Parse `location.hash`; anything unknown lands on the player. */
export function parseHash(hash: string): Route {
  const body = hash.replace(/^#\/?/, '');
  const [path = '', query = ''] = body.split('?', 2);
  const params = new URLSearchParams(query);
  switch (path.replace(/\/+$/, '')) {
    case 'broadcast':
      return { page: 'broadcast' };
    case 'dashboard':
      return { page: 'dashboard' };
    default: {
      const asset = params.get('asset');
      const route: Route = { page: 'watch', asset: asset && asset.length > 0 ? asset : null };
      const t = Number(params.get('t') ?? NaN);
      if (route.asset && Number.isFinite(t) && t >= 0 && t <= MAX_START_SECONDS) route.t = t;
      const limit = Number(params.get('limit') ?? NaN);
      if (Number.isInteger(limit) && limit >= MIN_LIMIT_KBPS && limit <= MAX_LIMIT_KBPS) route.limitKbps = limit;
      const latency = params.get('latency');
      if (latency === 'low' || latency === 'normal') route.latency = latency;
      return route;
    }
  }
}

/** The hash for a page; for the player, with the asset to play (and the second to start at). */
export function hrefFor(page: Page, asset?: string | null, t?: number): string {
  if (page === 'watch' && asset) return `#/watch?asset=${encodeURIComponent(asset)}${t === undefined ? '' : `&t=${Math.floor(t)}`}`;
  return `#/${page}`;
}

/** Keeps `route` in step with the location hash and re-renders the host on change. */
export class HashRouteController implements ReactiveController {
  route: Route = parseHash(location.hash);
  readonly #host: ReactiveControllerHost;
  readonly #onChange = (): void => {
    this.route = parseHash(location.hash);
    this.#host.requestUpdate();
  };

  constructor(host: ReactiveControllerHost) {
    this.#host = host;
    host.addController(this);
  }

  hostConnected(): void {
    window.addEventListener('hashchange', this.#onChange);
    this.#onChange();
  }

  hostDisconnected(): void {
    window.removeEventListener('hashchange', this.#onChange);
  }
}
