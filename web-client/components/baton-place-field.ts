// A location field that suggests places from the hub's gazetteer as you type (an ARIA combobox).
import { LitElement, css, html, nothing } from 'lit';
import type { Place } from '../../signaling/protocol/types.js';
import { sharedStyles } from '../styles/shared.js';

/** Suggestions are asked for this long after the last keystroke (ms). */
const DEBOUNCE_MS = 150;
/** Suggestions shown at most. */
const MAX_SUGGESTIONS = 8;

/** Text inputs, labels and hints, shared by the broadcaster's form fields. */
export const fieldStyles = css`
  .field {
    display: grid;
    gap: 6px;
    min-width: 0;
  }
  .field label {
    font-size: 0.78rem;
    font-weight: 600;
    text-transform: uppercase;
    letter-spacing: 0.06em;
    color: var(--bt-text-dim);
  }
  .field .hint {
    font-size: 0.8rem;
    color: var(--bt-text-faint);
  }
  .field .field-error {
    font-size: 0.84rem;
    color: var(--bt-err);
  }
  input[type='text'],
  input[type='password'],
  input[type='search'],
  textarea {
    width: 100%;
    box-sizing: border-box;
    font: inherit;
    font-size: 0.95rem;
    color: var(--bt-text);
    background: var(--bt-bg);
    border: 1px solid var(--bt-border-strong);
    border-radius: var(--bt-radius-sm);
    padding: 8px 10px;
    min-width: 0;
  }
  textarea {
    resize: vertical;
  }
  input::placeholder,
  textarea::placeholder {
    color: var(--bt-text-faint);
  }
  input:focus-visible,
  textarea:focus-visible {
    outline: 2px solid var(--bt-accent);
    outline-offset: 1px;
    border-color: transparent;
  }
  input[aria-invalid='true'],
  textarea[aria-invalid='true'] {
    border-color: var(--bt-err);
  }
  input:disabled,
  textarea:disabled {
    opacity: 0.6;
  }
`;

export interface LocationChange {
  text: string;
  /** The suggestion picked, or null while the text is typed freely. */
  place: Place | null;
}

/**
 * @fires location-change - CustomEvent<LocationChange>: the text changed or a suggestion was picked.
 * @csspart input - the text input
 * @csspart list - the suggestion list
 */
export class BatonPlaceField extends LitElement {
  static override properties = {
    value: { type: String },
    label: { type: String },
    placeholder: { type: String },
    disabled: { type: Boolean },
    error: { type: String },
    lookup: { attribute: false },
    _places: { state: true },
    _open: { state: true },
    _active: { state: true },
    _searched: { state: true },
  };

  declare value: string;
  declare label: string;
  declare placeholder: string;
  declare disabled: boolean;
  /** A problem with this field, shown under it (and marking it invalid). */
  declare error: string | null;
  /** Where suggestions come from (the hub's `places`). */
  declare lookup: ((q: string, limit: number) => Promise<Place[]>) | null;
  declare _places: Place[];
  declare _open: boolean;
  declare _active: number;
  /** The text the current suggestions answer. */
  declare _searched: string;

  static override styles = [
    sharedStyles,
    fieldStyles,
    css`
      :host {
        display: block;
      }
      .combo {
        position: relative;
      }
      ul {
        position: absolute;
        z-index: 5;
        top: calc(100% + 4px);
        left: 0;
        right: 0;
        margin: 0;
        padding: 4px;
        list-style: none;
        background: var(--bt-surface-2);
        border: 1px solid var(--bt-border-strong);
        border-radius: var(--bt-radius-sm);
        box-shadow: 0 10px 28px rgb(0 0 0 / 45%);
        max-height: 280px;
        overflow-y: auto;
      }
      li {
        display: flex;
        align-items: baseline;
        justify-content: space-between;
        gap: 12px;
        padding: 7px 10px;
        border-radius: 4px;
        cursor: pointer;
      }
      li[aria-selected='true'],
      li:hover {
        background: var(--bt-accent-soft);
      }
      li .coords {
        font-size: 0.78rem;
        color: var(--bt-text-faint);
        font-variant-numeric: tabular-nums;
        white-space: nowrap;
      }
      li.none {
        cursor: default;
        color: var(--bt-text-dim);
        font-size: 0.88rem;
      }
      li.none:hover {
        background: none;
      }
    `,
  ];

  #timer: ReturnType<typeof setTimeout> | undefined;
  #seq = 0;
  #focused = false;

  constructor() {
    super();
    this.value = '';
    this.label = 'Location';
    this.placeholder = '';
    this.disabled = false;
    this.error = null;
    this.lookup = null;
    this._places = [];
    this._open = false;
    this._active = -1;
    this._searched = '';
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearTimeout(this.#timer);
  }

  override render() {
    const expanded = this._open && this._searched.length > 0;
    const active = expanded && this._active >= 0 ? `place-${this._active}` : undefined;
    return html`<div class="field">
      <label for="place">${this.label}</label>
      <div class="combo">
        <input
          id="place"
          part="input"
          type="text"
          role="combobox"
          autocomplete="off"
          spellcheck="false"
          aria-autocomplete="list"
          aria-controls="places"
          aria-expanded=${expanded ? 'true' : 'false'}
          aria-activedescendant=${active ?? nothing}
          aria-invalid=${this.error ? 'true' : 'false'}
          aria-describedby=${this.error ? 'place-error' : nothing}
          placeholder=${this.placeholder}
          .value=${this.value}
          ?disabled=${this.disabled}
          @input=${this.#onInput}
          @keydown=${this.#onKeyDown}
          @focus=${() => {
            this.#focused = true;
            this._open = this._places.length > 0;
          }}
          @blur=${() => {
            this.#focused = false;
            this._open = false;
          }}
        />
        ${
          expanded
            ? html`<ul id="places" role="listbox" part="list" aria-label="Suggested places">
              ${
                this._places.length === 0
                  ? html`<li class="none" role="option" aria-disabled="true" aria-selected="false">No place starts with “${this._searched}”.</li>`
                  : this._places.map(
                      (p, i) => html`<li
                      id="place-${i}"
                      role="option"
                      aria-selected=${i === this._active ? 'true' : 'false'}
                      @pointerdown=${(e: Event) => {
                        // Keep focus in the input; the pick happens on click.
                        e.preventDefault();
                      }}
                      @click=${() => this.#pick(p)}
                    >
                      <span>${p.label}</span><span class="coords">${formatLatLon(p)}</span>
                    </li>`,
                    )
              }
            </ul>`
            : null
        }
      </div>
      ${this.error ? html`<p class="field-error" id="place-error">${this.error}</p>` : null}
    </div>`;
  }

  #onInput(e: Event): void {
    const text = (e.target as HTMLInputElement).value;
    this.value = text;
    this.#emit({ text, place: null });
    clearTimeout(this.#timer);
    const q = text.trim();
    // Coordinates need no suggestions; a single letter matches too much to be useful.
    if (q.length < 2 || /^[+-]?\d/.test(q)) {
      this.#seq++;
      this._places = [];
      this._searched = '';
      this._open = false;
      return;
    }
    this.#timer = setTimeout(() => void this.#search(q), DEBOUNCE_MS);
  }

  async #search(q: string): Promise<void> {
    const seq = ++this.#seq;
    const places = (await this.lookup?.(q, MAX_SUGGESTIONS)) ?? [];
    // A slower answer to an older prefix must not replace a newer one.
    if (seq !== this.#seq) return;
    this._places = places;
    this._searched = q;
    this._active = places.length > 0 ? 0 : -1;
    this._open = this.#focused;
  }

  #onKeyDown(e: KeyboardEvent): void {
    const n = this._places.length;
    switch (e.key) {
      case 'ArrowDown':
        if (!n) return;
        e.preventDefault();
        this._open = true;
        this._active = (this._active + 1) % n;
        return;
      case 'ArrowUp':
        if (!n) return;
        e.preventDefault();
        this._open = true;
        this._active = (this._active - 1 + n) % n;
        return;
      case 'Enter':
        if (this._open && this._active >= 0 && this._places[this._active]) {
          e.preventDefault();
          this.#pick(this._places[this._active]!);
        }
        return;
      case 'Escape':
        if (this._open) {
          e.preventDefault();
          this._open = false;
        }
        return;
    }
  }

  #pick(p: Place): void {
    this.#seq++;
    clearTimeout(this.#timer);
    this.value = p.label;
    this._open = false;
    this._places = [];
    this._searched = '';
    this.#emit({ text: p.label, place: p });
  }

  #emit(detail: LocationChange): void {
    this.dispatchEvent(new CustomEvent<LocationChange>('location-change', { detail, bubbles: true, composed: true }));
  }
}

function formatLatLon(p: { lat: number; lon: number }): string {
  const ns = p.lat >= 0 ? 'N' : 'S';
  const ew = p.lon >= 0 ? 'E' : 'W';
  return `${Math.abs(p.lat).toFixed(2)}°${ns} ${Math.abs(p.lon).toFixed(2)}°${ew}`;
}

customElements.define('baton-place-field', BatonPlaceField);

declare global {
  interface HTMLElementTagNameMap {
    'baton-place-field': BatonPlaceField;
  }
  interface HTMLElementEventMap {
    'location-change': CustomEvent<LocationChange>;
  }
}
