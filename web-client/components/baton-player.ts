// The player page: the catalog, the video, which server serves it and why, and how playback is going.
import { LitElement, html, type PropertyValues } from 'lit';
import { playerStyles } from '../styles/player-styles.js';
import { sharedStyles } from '../styles/shared.js';
import {
  codecsOf,
  isAudioOnly,
  formatBitrate,
  formatBytes,
  formatClock,
  formatLoad,
  formatSeconds,
  reasonExplanation,
  reasonLabel,
  thousands,
} from './format.js';
import { LIVE_CATCH_UP_ABOVE_S } from './live-sync.js';
import { WatchController, type PlaybackStatus } from './watch-controller.js';
import { watching } from './baton-catalog.js';
import { ladderOf, rungLabel } from './rendition-ladder.js';

interface Problem {
  title: string;
  detail: string;
  /** Whether trying the same stream again may help. */
  retry: boolean;
}

/**
 * What a failed playback means to a viewer, by error code. `midway`: the stream had played and failed for good
 * (its file removed, its servers gone); what had arrived was played out first.
 */
function describeProblem(code: string, message: string, assetId: string, midway = false): Problem {
  if (midway) return stoppedMidway(code, message, assetId);
  switch (code) {
    case 'unknown-asset':
      return {
        title: 'Unknown stream',
        detail: `There is no stream called “${assetId}” in this cluster. Pick one from the catalog.`,
        retry: false,
      };
    case 'bad-request':
      return { title: 'Not a valid stream name', detail: `“${assetId}” is not a valid stream id.`, retry: false };
    case 'no-capacity':
      return {
        title: 'No capacity right now',
        detail: `Every server that can serve “${assetId}” is at capacity. Try again in a moment.`,
        retry: true,
      };
    case 'no-director':
      return {
        title: 'No director on duty',
        detail: 'No media server holds the director role yet, so nobody can choose a server for you.',
        retry: true,
      };
    case 'timeout':
      return { title: 'The cluster did not answer', detail: message || 'The request timed out.', retry: true };
    case 'rate-limited':
      return { title: 'Too many requests', detail: 'Wait a moment, then try again.', retry: true };
    case 'too-many-sessions':
      return {
        title: 'Too many streams opening',
        detail: 'This page or your network already has as many streams open as the cluster allows. Close another player, then try again.',
        retry: true,
      };
    case 'unsupported-media':
    case 'media-error':
      return { title: 'Cannot play this stream', detail: message, retry: true };
    default:
      return { title: 'Connection failed', detail: message || 'The stream could not be delivered.', retry: true };
  }
}

/** A stream that stopped for good while it played: the notice while the buffer plays out, and the end's overlay. */
function stoppedMidway(code: string, message: string, assetId: string): Problem {
  if (code === 'unknown-asset' || code === 'asset-gone')
    return {
      title: 'This stream was removed',
      detail: `“${assetId}” left the cluster while you watched: no server holds it any more.`,
      retry: false,
    };
  return { title: 'The stream stopped', detail: message || 'The stream could not be delivered any further.', retry: true };
}

/**
 * Plays `asset` over WebRTC from the server the director picks, into a muted,
 * autoplaying `<video>` via Media Source Extensions.
 *
 * @csspart video - the video element
 * @csspart status - the panel describing the current playback
 */
export class BatonPlayer extends LitElement {
  static override properties = {
    asset: { type: String },
    latency: { type: String },
    backBufferS: { type: Number, attribute: 'back-buffer-s' },
    limitKbps: { type: Number, attribute: 'limit-kbps' },
  };

  /** The asset to play (from the `#/watch?asset=` route); null shows the catalog only. */
  declare asset: string | null;
  /** Live latency asked for by the URL (`latency=low` or `normal`); null: the viewer's last choice on this browser. */
  declare latency: 'low' | 'normal' | null;
  /** Seconds of played media kept buffered behind the playhead (applies from the next playback). Default 30. */
  declare backBufferS: number | undefined;
  /** Ask servers to send this player no faster than this (kbit/s; the URL's `limit=`); null: no limit. */
  declare limitKbps: number | null;

  static override styles = [sharedStyles, playerStyles];

  readonly #watch = new WatchController(this);

  constructor() {
    super();
    this.asset = null;
    this.latency = null;
    this.limitKbps = null;
    // The audio-only notice says whether the stream is muted.
    this.#watch.video.addEventListener('volumechange', () => this.requestUpdate());
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('backBufferS') && this.backBufferS !== undefined && this.backBufferS > 0) this.#watch.backBufferS = this.backBufferS;
    if (changed.has('limitKbps')) this.#watch.setLimit(this.limitKbps ? this.limitKbps * 1000 : null);
    if (changed.has('latency')) this.#watch.setLowLatency(this.latency === null ? storedLowLatency() : this.latency === 'low');
    if (changed.has('asset')) this.#watch.watch(this.asset);
  }

  override render() {
    const w = this.#watch;
    const s = w.status;
    // The poster stands in for the picture until the first frame is decoded.
    const poster = (s.assetId && w.feed.entry(s.assetId)?.posterUrl) || '';
    if (w.video.getAttribute('poster') !== poster) {
      if (poster) w.video.poster = poster;
      else w.video.removeAttribute('poster');
    }
    return html`
      <header class="page-head">
        <div>
          <h1>Watch</h1>
          <p class="muted">Streams come from the server the director picks for you, over WebRTC.</p>
        </div>
      </header>
      ${w.hub === 'offline' ? html`<p class="banner" role="alert">Cannot reach the hub — retrying. Check that it is running.</p>` : null}
      <div class="layout">
        <div class="stage">
          <div class="screen">${w.video} ${this.#overlay(s)}</div>
          ${this.#notices(s)} ${s.assetId && (s.phase !== 'error' || s.server) ? this.#statusPanel(s) : null}
        </div>
        <baton-catalog
          .entries=${w.feed.entries}
          .results=${w.feed.results}
          .selected=${s.assetId}
          .loaded=${w.feed.loaded}
          .error=${w.feed.error}
          .offline=${w.hub !== 'connected'}
          @baton-refresh=${() => void w.refreshCatalog()}
          @baton-search=${(e: CustomEvent<string>) => w.feed.search(e.detail)}
        ></baton-catalog>
      </div>
    `;
  }

  #overlay(s: PlaybackStatus) {
    if (s.phase === 'error' && s.error) {
      const p = describeProblem(s.error.code, s.error.message, s.assetId ?? '', s.error.midway);
      return html`<div class="overlay error" role="alert" data-testid="player-error" data-code=${s.error.code}>
        <div>
          <h2>${p.title}</h2>
          <p>${p.detail}</p>
          ${p.retry ? html`<div class="actions"><button @click=${() => this.#watch.retry()}>Try again</button></div>` : null}
        </div>
      </div>`;
    }
    if (!s.assetId) {
      return html`<div class="overlay">
        <div>
          <h2>Pick a stream</h2>
          <p>Choose one from the catalog and it starts playing here, muted; unmute with the player controls.</p>
        </div>
      </div>`;
    }
    if (this.#watch.hub !== 'connected' && (s.phase === 'selecting' || s.phase === 'connecting')) {
      return this.#waiting('Connecting to the hub…');
    }
    switch (s.phase) {
      case 'selecting':
        return this.#waiting('Asking the director for a server…');
      case 'connecting':
        return this.#waiting(s.server ? `Connecting to ${s.server.id} (${s.server.region})…` : 'Connecting…');
      case 'streaming':
      case 'complete':
        if (s.video !== 'playing' && s.video !== 'paused' && s.video !== 'ended') return this.#waiting('Buffering…', true);
        return s.mime && isAudioOnly(s.mime) ? this.#audioOnly() : null;
      default:
        return null;
    }
  }

  /**
   * A stream without a picture plays in a black box and, autoplaying, muted: a viewer saw and heard nothing and took
   * it for broken. Soft, so the controls under it still answer.
   */
  #audioOnly() {
    return html`<div class="overlay soft" role="status" data-testid="audio-only">
      <div>
        <h2>Audio only</h2>
        <p>${this.#watch.video.muted ? 'This stream has no picture. It plays muted: unmute with the player controls to listen.' : 'This stream has no picture.'}</p>
      </div>
    </div>`;
  }

  #waiting(text: string, soft = false) {
    return html`<div class="overlay ${soft ? 'soft' : ''}" role="status">
      <div><span class="spinner" aria-hidden="true"></span><p>${text}</p></div>
    </div>`;
  }

  #statusPanel(s: PlaybackStatus) {
    const entry = this.#watch.feed.entry(s.assetId);
    const viewers = s.viewers ?? entry?.viewers ?? null;
    const received =
      s.totalBytes && !s.live ? `${formatBytes(s.bytesReceived)} of ${formatBytes(s.totalBytes)}` : formatBytes(s.bytesReceived);
    return html`<section class="card now" part="status" aria-label="playback status">
      <div class="now-head">
        <h3 data-testid="player-title" title=${s.assetId ?? ''}><bdi>${entry?.title ?? s.assetId}</bdi></h3>
        ${entry?.title ? html`<span class="faint mono">${s.assetId}</span>` : null}
        ${s.live ? html`<span class="badge live">live</span>${this.#liveControls(s)}` : s.phase === 'complete' ? this.#endedBadge(s) : null}
        ${s.mime ? html`<span class="codecs faint mono">${codecsOf(s.mime)}</span>` : null} ${this.#qualityMenu(s)}
        ${
          viewers === null
            ? null
            : html`<span class="viewers" data-testid="player-viewers" data-viewers=${viewers} title="Viewer sessions open for this stream across the cluster"
                >${watching(viewers)}</span
              >`
        }
      </div>
      ${entry?.description ? html`<p class="description" data-testid="player-description"><bdi>${entry.description}</bdi></p>` : null}
      ${
        s.server && s.reason
          ? html`<div class="served" data-testid="served-by">
            <span class="muted">Served by</span>
            <span class="server-badge"><span class="mono" data-testid="server-id">${s.server.id}</span><span class="faint">${s.server.region}</span></span>
            <span class="muted">from</span>
            <span class="badge reason-${s.reason}" data-testid="reason" data-reason=${s.reason}>${reasonLabel(s.reason)}</span>
            <span class="why">Chosen because ${reasonExplanation(s.reason)}.</span>
          </div>`
          : html`<div class="served muted">${s.phase === 'error' ? 'Not playing.' : 'Waiting for the director’s choice…'}</div>`
      }
      <dl class="stats">
        <div class="stat"><dt>Bitrate</dt><dd>${formatBitrate(s.mediaBitrateBps ?? undefined)}</dd></div>
        <div class="stat">
          <dt>Receiving</dt>
          <dd>${s.phase === 'complete' ? 'done' : formatBitrate(s.receiveBps ?? undefined)}</dd>
        </div>
        <div class="stat"><dt>Buffer ahead</dt><dd data-testid="buffer-ahead">${s.rtc ? '—' : formatSeconds(s.bufferAheadS)}</dd></div>
        <div class="stat"><dt>Received</dt><dd data-testid="bytes-received">${received}</dd></div>
        <div class="stat"><dt>Server load</dt><dd>${s.loadFactor === null ? '—' : formatLoad(s.loadFactor)}</dd></div>
        <div class="stat"><dt>Director epoch</dt><dd>${s.epoch ?? '—'}</dd></div>
      </dl>
    </section>`;
  }

  /**
   * A stream received to its end: "fully received" (its bytes are all in the player); a low-latency live session that
   * ended with its broadcast kept nothing, so it offers the recording.
   */
  #endedBadge(s: PlaybackStatus) {
    if (!s.rtc) return html`<span class="badge ok" data-testid="fully-received">fully received</span>`;
    return html`<span class="badge ok" data-testid="broadcast-ended">broadcast ended</span>
      <button class="jump-live" data-testid="play-recording" @click=${() => this.#watch.retry()}>Play the recording</button>`;
  }

  /** Auto or a rung of the asset's ladder; the option of the rung playing now says so. Absent with one rung. */
  #qualityMenu(s: PlaybackStatus) {
    const w = this.#watch;
    const ladder = s.assetId ? ladderOf(w.feed.entry(s.assetId), s.assetId) : [];
    if (ladder.length < 2 || s.live) return null;
    const playing = ladder.find((r) => r.id === s.streamId);
    return html`<label class="quality" title="Auto picks the rendition by how fast bytes arrive and how much is buffered"
      >Quality
      <select
        data-testid="quality"
        data-streaming=${s.streamId ?? ''}
        data-height=${playing?.heightPx ?? ''}
        @change=${(e: Event) => w.pick((e.target as HTMLSelectElement).value)}
      >
        <option value="auto" ?selected=${w.quality === 'auto'}>Auto${w.quality === 'auto' && playing ? ` (${rungLabel(playing)})` : ''}</option>
        ${ladder.map((r) => html`<option value=${r.id} ?selected=${w.quality === r.id}>${rungLabel(r)}</option>`)}
      </select></label
    >`;
  }

  /** Live: the latency switch; over the data channel, how far behind the broadcast the picture is and a way back to the edge. */
  #liveControls(s: PlaybackStatus) {
    const w = this.#watch;
    const toggle = html`<label class="low-latency" title="Play live streams over WebRTC media (WHEP): about a quarter of a second behind the camera instead of most of a second; no byte-exact resume"
      ><input
        type="checkbox"
        data-testid="low-latency"
        .checked=${w.lowLatency}
        @change=${(e: Event) => {
          const on = (e.target as HTMLInputElement).checked;
          storeLowLatency(on);
          w.setLowLatency(on);
        }}
      />
      Low latency</label
    >`;
    if (s.rtc)
      return html`<span class="badge latency" data-testid="rtc-live" title="Frames arrive as WebRTC media, straight to the picture">WebRTC</span>${toggle}`;
    const behind = s.behindLiveS > LIVE_CATCH_UP_ABOVE_S;
    return html`${toggle}${
      s.latencyS === null
        ? null
        : html`<span
            class="badge latency"
            data-testid="live-latency"
            data-latency-ms=${Math.round(s.latencyS * 1000)}
            title="From the moment this frame was captured (the stream's start time plus the frame's media time) to now"
            >${formatSeconds(s.latencyS)} behind live</span
          >`
    }
      <button
        class="jump-live ${behind ? 'behind' : ''}"
        data-testid="jump-live"
        data-behind-s=${s.behindLiveS.toFixed(2)}
        ?disabled=${!behind}
        @click=${() => this.#watch.jumpToLive()}
        title=${behind ? `${formatSeconds(s.behindLiveS)} of received media ahead of the picture` : 'At the live edge'}
      >
        ${behind ? 'Jump to live' : 'At live edge'}
      </button>`;
  }

  #notices(s: PlaybackStatus) {
    const i = s.interrupted;
    if (s.failovers.length === 0 && !i) return null;
    const stopped = i ? stoppedMidway(i.code, i.message, s.assetId ?? '') : null;
    return html`<ul class="notices" aria-live="polite">
      ${
        stopped && i
          ? html`<li data-testid="interrupted" data-code=${i.code}>
            <span><b>${stopped.title}.</b> ${stopped.detail} Playing the ${formatSeconds(i.aheadS)} that arrived.</span>
          </li>`
          : null
      }
      ${s.failovers.map(
        (f) => html`<li data-testid="failover">
          <span>Server <b class="mono">${f.from}</b> went away — resumed on <b class="mono">${f.to}</b> ${f.offset === null ? 'at the live edge' : `at byte ${thousands(f.offset)}`}.</span>
          <time>${formatClock(f.atMs)}</time>
        </li>`,
      )}
    </ul>`;
  }
}

/** The viewer's last "Low latency" choice on this browser (local storage); off when none was made or storage is closed. */
const LOW_LATENCY_KEY = 'baton.lowLatency';

function storedLowLatency(): boolean {
  try {
    return localStorage.getItem(LOW_LATENCY_KEY) === '1';
  } catch {
    return false;
  }
}

function storeLowLatency(on: boolean): void {
  try {
    localStorage.setItem(LOW_LATENCY_KEY, on ? '1' : '0');
  } catch {
    // Private mode or storage disabled: the choice lasts for this page only.
  }
}

customElements.define('baton-player', BatonPlayer);

declare global {
  interface HTMLElementTagNameMap {
    'baton-player': BatonPlayer;
  }
}
