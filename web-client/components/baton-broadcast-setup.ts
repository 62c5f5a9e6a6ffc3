// The broadcaster's form: source (camera, screen, file), stream key, location, optional stream id, title and
// description, go live / end.
import { LitElement, html, nothing } from 'lit';
import { MAX_DESCRIPTION_CHARS, MAX_TITLE_CHARS } from '../../signaling/protocol/messages.js';
import type { Place } from '../../signaling/protocol/types.js';
import { broadcastSetupStyles } from '../styles/broadcast-setup-styles.js';
import { sharedStyles } from '../styles/shared.js';
import type { BroadcastPhase, GoLiveOptions, LocationInput, Problem, SourceInfo, SourceKind, SourceState } from './broadcast-controller.js';
import { fieldStyles, type LocationChange } from './baton-place-field.js';
import './baton-place-field.js';
import { thousands } from './format.js';

const SOURCES: ReadonlyArray<{ kind: SourceKind; label: string }> = [
  { kind: 'camera', label: 'Camera' },
  { kind: 'screen', label: 'Screen' },
  { kind: 'file', label: 'Video file' },
];

/** Under a field, a short hint; the page's alert carries the full explanation. */
const FIELD_HINTS: Record<string, string> = {
  unauthorized: 'The hub does not accept this key.',
  'missing-key': 'Required.',
  'unknown-place': 'Not a place the hub knows: pick a suggestion.',
  'missing-location': 'Required, or use your device location.',
  'bad-stream-id': 'Letters, digits, “-” and “_”; at most 64.',
  conflict: 'Taken: choose another, or leave it empty.',
  'bad-title': `One line, at most ${MAX_TITLE_CHARS} characters.`,
  'bad-description': `At most ${thousands(MAX_DESCRIPTION_CHARS)} characters.`,
};

type DeviceLocation = LocationInput & { kind: 'device' };

/**
 * @fires source-select - CustomEvent<{ kind }>: the user picked a source kind.
 * @fires source-file - CustomEvent<{ file }>: the user chose a video file.
 * @fires go-live - CustomEvent<GoLiveOptions>: start broadcasting with these settings.
 * @fires end-broadcast - the user asked to end the broadcast.
 * @fires new-broadcast - back to the form after a broadcast ended.
 * @fires form-edit - a field changed (stale problems can go).
 */
export class BatonBroadcastSetup extends LitElement {
  static override properties = {
    kind: { type: String },
    sourceState: { type: String },
    source: { attribute: false },
    phase: { type: String },
    problem: { attribute: false },
    lookup: { attribute: false },
    locate: { attribute: false },
    hubReady: { type: Boolean },
    _key: { state: true },
    _locText: { state: true },
    _device: { state: true },
    _locating: { state: true },
    _locateError: { state: true },
    _streamId: { state: true },
    _title: { state: true },
    _description: { state: true },
  };

  declare kind: SourceKind;
  declare sourceState: SourceState;
  declare source: SourceInfo | null;
  declare phase: BroadcastPhase;
  /** The current problem; one naming a field marks that field. */
  declare problem: Problem | null;
  declare lookup: ((q: string, limit: number) => Promise<Place[]>) | null;
  declare locate: (() => Promise<DeviceLocation>) | null;
  declare hubReady: boolean;
  declare _key: string;
  declare _locText: string;
  declare _device: DeviceLocation | null;
  declare _locating: boolean;
  declare _locateError: string | null;
  declare _streamId: string;
  declare _title: string;
  declare _description: string;

  static override styles = [sharedStyles, fieldStyles, broadcastSetupStyles];

  constructor() {
    super();
    this.kind = 'camera';
    this.sourceState = 'none';
    this.source = null;
    this.phase = 'idle';
    this.problem = null;
    this.lookup = null;
    this.locate = null;
    this.hubReady = false;
    this._key = '';
    this._locText = '';
    this._device = null;
    this._locating = false;
    this._locateError = null;
    this._streamId = '';
    this._title = '';
    this._description = '';
  }

  override render() {
    const locked = this.phase === 'starting' || this.phase === 'live' || this.phase === 'ending';
    const fieldError = (f: NonNullable<Problem['field']>) =>
      this.problem?.field === f ? (FIELD_HINTS[this.problem.code] ?? this.problem.message) : null;
    return html`<form class="card" @submit=${this.#submit} novalidate aria-label="Broadcast settings">
      <fieldset ?disabled=${locked}>
        <legend>Source</legend>
        <div class="segmented" role="group" aria-label="Source">
          ${SOURCES.map(
            (
              s,
            ) => html`<button type="button" aria-pressed=${this.kind === s.kind ? 'true' : 'false'} data-source=${s.kind} @click=${() => this.#fire('source-select', { kind: s.kind })}>
              ${s.label}
            </button>`,
          )}
        </div>
        ${
          this.kind === 'file'
            ? html`<label class="file-pick">
              <input type="file" accept="video/*" @change=${this.#onFile} ?disabled=${locked} />
              ${this.source?.kind === 'file' ? 'Choose another file…' : 'Choose a video file…'}
            </label>`
            : null
        }
        ${this.#sourceInfo()}
      </fieldset>

      <div class="field">
        <label for="key">Stream key</label>
        <input
          id="key"
          type="password"
          autocomplete="off"
          spellcheck="false"
          placeholder="From your operator"
          .value=${this._key}
          ?disabled=${locked}
          aria-invalid=${fieldError('key') ? 'true' : 'false'}
          aria-describedby=${fieldError('key') ? 'key-error' : nothing}
          @input=${(e: Event) => {
            this._key = (e.target as HTMLInputElement).value;
            this.#edited('key');
          }}
        />
        ${fieldError('key') ? html`<p class="field-error" id="key-error">${fieldError('key')}</p>` : null}
      </div>

      <div class="field">
        <baton-place-field
          label="Where are you?"
          placeholder="A city, e.g. Frankfurt — or “lat, lon”"
          .value=${this._locText}
          .lookup=${this.lookup}
          .error=${fieldError('location')}
          ?disabled=${locked}
          @location-change=${this.#onLocation}
        ></baton-place-field>
        <div class="locate">
          <button type="button" class="link" ?disabled=${locked || this._locating} @click=${this.#useDevice}>
            ${pinIcon}${this._locating ? 'Finding your position…' : 'Use my device location'}
          </button>
          ${this._device ? html`<span class="faint">accurate to about ${formatAccuracy(this._device.accuracyM)}</span>` : null}
          ${this._locateError ? html`<span class="err" role="status">${this._locateError}</span>` : null}
        </div>
        <p class="hint">The primary entry server is the one nearest this place by estimated round-trip time.</p>
      </div>

      <div class="field">
        <label for="stream-id">Stream id <span class="faint">(optional)</span></label>
        <input
          id="stream-id"
          type="text"
          autocomplete="off"
          spellcheck="false"
          placeholder="Named by the hub when empty"
          .value=${this._streamId}
          ?disabled=${locked}
          aria-invalid=${fieldError('streamId') ? 'true' : 'false'}
          @input=${(e: Event) => {
            this._streamId = (e.target as HTMLInputElement).value;
            this.#edited('streamId');
          }}
        />
        ${fieldError('streamId') ? html`<p class="field-error">${fieldError('streamId')}</p>` : null}
      </div>

      <div class="field">
        <label for="title">Title <span class="faint">(optional)</span></label>
        <input
          id="title"
          type="text"
          autocomplete="off"
          maxlength=${MAX_TITLE_CHARS}
          placeholder="What viewers see in the catalog"
          .value=${this._title}
          ?disabled=${locked}
          aria-invalid=${fieldError('title') ? 'true' : 'false'}
          @input=${(e: Event) => {
            this._title = (e.target as HTMLInputElement).value;
            this.#edited('title');
          }}
        />
        ${fieldError('title') ? html`<p class="field-error">${fieldError('title')}</p>` : null}
      </div>

      <div class="field">
        <label for="description">Description <span class="faint">(optional)</span></label>
        <textarea
          id="description"
          rows="3"
          maxlength=${MAX_DESCRIPTION_CHARS}
          placeholder="A few lines about the broadcast"
          .value=${this._description}
          ?disabled=${locked}
          aria-invalid=${fieldError('description') ? 'true' : 'false'}
          @input=${(e: Event) => {
            this._description = (e.target as HTMLTextAreaElement).value;
            this.#edited('description');
          }}
        ></textarea>
        ${fieldError('description') ? html`<p class="field-error">${fieldError('description')}</p>` : null}
        <p class="hint">Stored with the recording; viewers see both in the catalog and the player.</p>
      </div>

      <div class="actions">${this.#actions()}</div>
    </form>`;
  }

  #sourceInfo() {
    const s = this.source;
    if (this.sourceState === 'acquiring') return html`<p class="source-info">Waiting for the browser…</p>`;
    if (!s) return null;
    const size = s.width && s.height ? `${s.width}×${s.height}` : null;
    return html`<p class="source-info" data-testid="source-info">
      <span class="dot ok"></span><span class="name" title=${s.label}>${s.label}</span>
      ${size ? html`<span class="faint">${size}</span>` : null}
      ${s.kind !== 'file' ? html`<span class="faint">${s.audio ? 'with sound' : 'no sound'}</span>` : null}
    </p>`;
  }

  #actions() {
    switch (this.phase) {
      case 'starting':
        return html`<button type="button" class="end" @click=${() => this.#fire('end-broadcast', null)}>Cancel</button>
          <p class="hint">Asking the director for entry servers and connecting to them…</p>`;
      case 'live':
        return html`<button type="button" class="end" data-testid="end-broadcast" @click=${() => this.#fire('end-broadcast', null)}>End broadcast</button>
          <p class="hint">Ending sends the last chunks; both servers then finalize identical copies.</p>`;
      case 'ending':
        return html`<button type="button" class="end" disabled>Finalizing…</button>`;
      case 'ended':
        return html`<button type="button" class="go" @click=${() => this.#fire('new-broadcast', null)}>New broadcast</button>`;
      default:
        return html`<button type="submit" class="go" data-testid="go-live" ?disabled=${!this.hubReady}>Go live</button>
          <p class="hint">${this.hubReady ? 'Your stream is uploaded to two servers at once, so losing one loses nothing.' : 'Waiting for the hub…'}</p>`;
    }
  }

  #submit(e: Event): void {
    e.preventDefault();
    if (this.phase !== 'idle') return;
    const location: LocationInput = this._device ?? { kind: 'text', text: this._locText };
    const detail: GoLiveOptions = {
      streamKey: this._key,
      location,
      ...(this._streamId.trim() ? { streamId: this._streamId.trim() } : {}),
      ...(this._title.trim() ? { title: this._title.trim() } : {}),
      ...(this._description.trim() ? { description: this._description.trim() } : {}),
    };
    this.#fire('go-live', detail);
  }

  #onFile(e: Event): void {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (file) this.#fire('source-file', { file });
  }

  #onLocation(e: CustomEvent<LocationChange>): void {
    this._locText = e.detail.text;
    this._device = null;
    this._locateError = null;
    this.#edited('location');
  }

  async #useDevice(): Promise<void> {
    if (!this.locate) return;
    this._locating = true;
    this._locateError = null;
    try {
      const d = await this.locate();
      this._device = d;
      this._locText = `Device location (${d.lat.toFixed(2)}, ${d.lon.toFixed(2)})`;
      this.#edited('location');
    } catch (err) {
      this._locateError = (err as Error).message;
    } finally {
      this._locating = false;
    }
  }

  #edited(field: NonNullable<Problem['field']>): void {
    if (this.problem && (this.problem.field === field || !this.problem.field)) this.#fire('form-edit', { field });
  }

  #fire(type: string, detail: unknown): void {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }
}

function formatAccuracy(m: number): string {
  return m >= 1000 ? `${(m / 1000).toFixed(1)} km` : `${Math.round(m)} m`;
}

const pinIcon = html`<svg width="14" height="14" viewBox="0 0 24 24" aria-hidden="true">
  <circle cx="12" cy="12" r="7" fill="none" stroke="currentColor" stroke-width="2" />
  <circle cx="12" cy="12" r="2.5" fill="currentColor" />
  <path d="M12 2v3M12 19v3M2 12h3M19 12h3" stroke="currentColor" stroke-width="2" stroke-linecap="round" />
</svg>`;

customElements.define('baton-broadcast-setup', BatonBroadcastSetup);

declare global {
  interface HTMLElementTagNameMap {
    'baton-broadcast-setup': BatonBroadcastSetup;
  }
}
