// An equirectangular world map with a dot per server, coloured by load, the director ringed.
import { LitElement, css, html, svg } from 'lit';
import { LINE_GAP, placeLabels, type LabelPlace } from './map-labels.js';
import { LAND_PATH, MAP_NORTH_LAT, MAP_SOUTH_LAT } from './world-outline.js';

/** What the map needs to know about a server. */
export interface MapServer {
  id: string;
  region: string;
  lat: number;
  lon: number;
  loadFactor: number;
  overloaded: boolean;
  isDirector: boolean;
}

const GRATICULE_STEP_DEG = 30;

/**
 * @csspart map - the SVG element
 */
export class BatonWorldMap extends LitElement {
  static override properties = {
    servers: { attribute: false },
    highlight: { type: String },
  };

  declare servers: readonly MapServer[];
  /** Id of a server to pulse (e.g. the one chosen by the latest decision). */
  declare highlight: string | null;
  #labelsKey = '';
  #labels: Array<LabelPlace | null> = [];

  static override styles = css`
    :host {
      display: block;
    }
    svg {
      display: block;
      width: 100%;
      height: auto;
      background: var(--bt-sea);
      border-radius: var(--bt-radius-sm);
    }
    .land {
      fill: var(--bt-land);
      stroke: var(--bt-land-edge);
      stroke-width: 0.35;
      stroke-linejoin: round;
    }
    .grid {
      stroke: var(--bt-border);
      stroke-width: 0.25;
      opacity: 0.7;
      fill: none;
    }
    .server {
      stroke: var(--bt-bg);
      stroke-width: 0.8;
    }
    .load-low {
      fill: var(--bt-ok);
    }
    .load-mid {
      fill: var(--bt-warn);
    }
    .load-high {
      fill: var(--bt-err);
    }
    .director-ring {
      fill: none;
      stroke: var(--bt-director);
      stroke-width: 1.2;
    }
    .pulse {
      fill: none;
      stroke: var(--bt-accent);
      stroke-width: 1;
      animation: pulse 1.6s ease-out infinite;
      transform-box: fill-box;
      transform-origin: center;
    }
    @keyframes pulse {
      from {
        opacity: 0.9;
        transform: scale(1);
      }
      to {
        opacity: 0;
        transform: scale(2.6);
      }
    }
    @media (prefers-reduced-motion: reduce) {
      .pulse {
        animation: none;
      }
    }
    text {
      fill: var(--bt-text);
      font: 600 5.4px var(--bt-font);
      paint-order: stroke;
      stroke: var(--bt-sea);
      stroke-width: 1.2;
      stroke-linejoin: round;
    }
    .leader {
      stroke: var(--bt-text-dim);
      stroke-width: 0.3;
      opacity: 0.8;
    }
    text.region {
      fill: var(--bt-text-dim);
      font-weight: 400;
      font-size: 4.2px;
    }
    /* On a phone the map is a few hundred pixels wide: labels would be specks, the cards name every server. */
    @media (max-width: 600px) {
      text {
        display: none;
      }
      .server {
        r: 4.2px;
      }
      .director-ring {
        r: 6.8px;
      }
      .leader {
        display: none;
      }
    }
  `;

  constructor() {
    super();
    this.servers = [];
    this.highlight = null;
  }

  override render() {
    const height = MAP_NORTH_LAT - MAP_SOUTH_LAT;
    const label = this.servers.length
      ? `World map with ${this.servers.length} servers: ${this.servers.map((s) => `${s.id} in ${s.region}`).join(', ')}`
      : 'World map, no servers';
    return html`<svg part="map" viewBox="-180 ${-MAP_NORTH_LAT} 360 ${height}" role="img" aria-label=${label}>
      ${this.#graticule()}
      ${svg`<path class="land" d=${LAND_PATH}></path>`}
      ${this.#layout(this.servers).map(([s, label]) => this.#server(s, label))}
    </svg>`;
  }

  #graticule() {
    const lines = [];
    for (let lon = -180 + GRATICULE_STEP_DEG; lon < 180; lon += GRATICULE_STEP_DEG) {
      lines.push(svg`<line class="grid" x1=${lon} x2=${lon} y1=${-MAP_NORTH_LAT} y2=${-MAP_SOUTH_LAT}></line>`);
    }
    for (let lat = -GRATICULE_STEP_DEG; lat <= 60; lat += GRATICULE_STEP_DEG) {
      lines.push(svg`<line class="grid" x1="-180" x2="180" y1=${-lat} y2=${-lat}></line>`);
    }
    return lines;
  }

  #server(s: MapServer & { x: number; y: number }, label: LabelPlace | null) {
    const cls = s.overloaded || s.loadFactor >= 0.85 ? 'load-high' : s.loadFactor >= 0.5 ? 'load-mid' : 'load-low';
    return svg`<g>
      <title>${s.id} · ${s.region} · load ${Math.round(s.loadFactor * 100)}%${s.isDirector ? ' · director' : ''}</title>
      ${s.id === this.highlight ? svg`<circle class="pulse" cx=${s.x} cy=${s.y} r="2.6"></circle>` : null}
      ${s.isDirector ? svg`<circle class="director-ring" cx=${s.x} cy=${s.y} r="4"></circle>` : null}
      <circle class="server ${cls}" cx=${s.x} cy=${s.y} r="2.4"></circle>
      ${label ? this.#label(s, label) : null}
    </svg>`;
  }

  #label(s: { x: number; y: number; id: string; region: string }, { tx, ty, anchor, moved }: LabelPlace) {
    return svg`${moved ? svg`<line class="leader" x1=${s.x} y1=${s.y} x2=${anchor === 'start' ? tx - 1 : tx + 1} y2=${ty - 1.6}></line>` : null}
      <text x=${tx} y=${ty} text-anchor=${anchor}>${s.id}</text>
      <text class="region" x=${tx} y=${ty + LINE_GAP} text-anchor=${anchor}>${s.region}</text>`;
  }

  /**
   * Each server's dot and where its label goes (map-labels.ts): beside it, or moved clear of the others. The places
   * are worked out again only when a server came, went or moved: the map redraws on every load change.
   */
  #layout(servers: readonly MapServer[]): Array<[MapServer & { x: number; y: number }, LabelPlace | null]> {
    const dots = this.#spread(servers);
    const key = dots.map((d) => `${d.id}\u0000${d.region}\u0000${d.x}\u0000${d.y}`).join('\u0001');
    if (key !== this.#labelsKey) {
      this.#labelsKey = key;
      this.#labels = placeLabels(dots);
    }
    return dots.map((d, i) => [d, this.#labels[i] ?? null]);
  }

  /** Servers in the same place (common on one machine) are fanned out so each dot stays visible. */
  #spread(servers: readonly MapServer[]): Array<MapServer & { x: number; y: number }> {
    const seen = new Map<string, number>();
    return servers.map((s) => {
      const key = `${Math.round(s.lon)}:${Math.round(s.lat)}`;
      const n = seen.get(key) ?? 0;
      seen.set(key, n + 1);
      const y = -Math.min(MAP_NORTH_LAT - 3, Math.max(MAP_SOUTH_LAT + 3, s.lat));
      return { ...s, x: s.lon, y: y + n * 11 };
    });
  }
}

customElements.define('baton-world-map', BatonWorldMap);

declare global {
  interface HTMLElementTagNameMap {
    'baton-world-map': BatonWorldMap;
  }
}
