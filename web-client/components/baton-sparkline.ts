// A tiny SVG line chart of recent load-factor samples.
import { LitElement, css, html, svg } from 'lit';

const WIDTH = 120;
const HEIGHT = 32;

/**
 * Draws `values` (oldest first) left to right against a fixed 0..1 scale that
 * grows when a value exceeds 1 (an overloaded server stays visibly over the top).
 * `threshold` draws a dashed line where a server stops taking new sessions.
 *
 * @csspart svg - the chart
 */
export class BatonSparkline extends LitElement {
  static override properties = {
    values: { attribute: false },
    capacity: { type: Number },
    threshold: { type: Number },
    label: { type: String },
  };

  declare values: readonly number[];
  /** How many samples fill the width (older ones scroll off). */
  declare capacity: number;
  declare threshold: number;
  declare label: string;

  static override styles = css`
    :host {
      display: block;
      color: var(--bt-accent);
    }
    svg {
      display: block;
      width: 100%;
      height: 100%;
      overflow: visible;
    }
    .area {
      fill: currentColor;
      opacity: 0.12;
    }
    .line {
      fill: none;
      stroke: currentColor;
      stroke-width: 1.5;
      stroke-linejoin: round;
      stroke-linecap: round;
      vector-effect: non-scaling-stroke;
    }
    .threshold {
      stroke: var(--bt-warn);
      stroke-width: 1;
      stroke-dasharray: 3 3;
      opacity: 0.55;
      vector-effect: non-scaling-stroke;
    }
    .base {
      stroke: var(--bt-border);
      stroke-width: 1;
      vector-effect: non-scaling-stroke;
    }
  `;

  constructor() {
    super();
    this.values = [];
    this.capacity = 300;
    this.threshold = 0.85;
    this.label = 'load factor';
  }

  override render() {
    const n = this.values.length;
    const top = Math.max(1, ...this.values);
    const step = WIDTH / Math.max(1, this.capacity - 1);
    const x0 = WIDTH - (n - 1) * step;
    const y = (v: number): number => HEIGHT - (Math.max(0, v) / top) * HEIGHT;
    const points = this.values.map((v, i) => `${(x0 + i * step).toFixed(2)},${y(v).toFixed(2)}`);
    const line = points.join(' ');
    const area = n > 1 ? `${x0.toFixed(2)},${HEIGHT} ${line} ${WIDTH},${HEIGHT}` : '';
    const ty = y(this.threshold);
    return html`<svg part="svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" preserveAspectRatio="none" role="img" aria-label=${this.#describe()}>
      ${svg`<line class="base" x1="0" x2=${WIDTH} y1=${HEIGHT} y2=${HEIGHT}></line>`}
      ${svg`<line class="threshold" x1="0" x2=${WIDTH} y1=${ty} y2=${ty}></line>`}
      ${n > 1 ? svg`<polygon class="area" points=${area}></polygon><polyline class="line" points=${line}></polyline>` : null}
    </svg>`;
  }

  #describe(): string {
    const last = this.values.at(-1);
    if (last === undefined) return `${this.label}: no samples yet`;
    return `${this.label}: ${Math.round(last * 100)}% now, ${this.values.length} samples`;
  }
}

customElements.define('baton-sparkline', BatonSparkline);

declare global {
  interface HTMLElementTagNameMap {
    'baton-sparkline': BatonSparkline;
  }
}
