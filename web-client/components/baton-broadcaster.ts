// The broadcast page: preview, settings, the entry servers the director assigned, and how both uploads are doing.
import { LitElement, css, html } from 'lit';
import type { UploadInfo } from '../../client-sdk/publisher.js';
import { playerStyles } from '../styles/player-styles.js';
import { sharedStyles } from '../styles/shared.js';
import { BroadcastController, type BroadcastStatus, type GoLiveOptions, type Problem, type SourceKind } from './broadcast-controller.js';
import { codecsOf, formatBitrate, formatBytes, formatClock, formatDuration, thousands } from './format.js';
import { hrefFor } from './hash-route.js';
import './baton-broadcast-setup.js';
import './baton-ingest-card.js';
import { onAirEvent } from './on-air.js';

const PROBLEM_TITLES: Record<string, string> = {
  unauthorized: 'Unknown stream key',
  'missing-key': 'Stream key needed',
  'unknown-place': 'Unknown place',
  'missing-location': 'Location needed',
  'no-ingest': 'No ingest server available',
  'no-director': 'No director on duty',
  conflict: 'Stream id taken',
  'bad-stream-id': 'Not a valid stream id',
  'hub-offline': 'Hub unreachable',
  timeout: 'No answer from the cluster',
  'rate-limited': 'Too many requests',
  'camera-denied': 'Camera access denied',
  'no-camera': 'No camera found',
  'camera-busy': 'Camera unavailable',
  'screen-denied': 'Screen sharing cancelled',
  'file-unplayable': 'Cannot play this file',
  'insecure-context': 'Capture unavailable here',
  unsupported: 'Recording not supported',
  'no-source': 'Nothing to broadcast',
  'recorder-error': 'Recording failed',
};

const WAITING: Record<SourceKind, string> = {
  camera: 'Waiting for permission to use the camera…',
  screen: 'Choose a screen, window or tab to share…',
  file: 'Opening the file…',
};

/**
 * Goes live from this browser: MediaRecorder chunks uploaded to a primary and a
 * backup entry server that the director picks from the location typed here.
 *
 * @csspart preview - the preview video element
 * @csspart status - the panel describing the live stream
 */
export class BatonBroadcaster extends LitElement {
  static override styles = [
    sharedStyles,
    playerStyles,
    css`
      .screen {
        background: #05070a;
      }
      .on-air {
        position: absolute;
        top: 12px;
        left: 12px;
        display: inline-flex;
        align-items: center;
        gap: 8px;
        padding: 4px 10px;
        border-radius: 999px;
        background: rgb(8 10 14 / 72%);
        font-size: 0.85rem;
        font-weight: 700;
        letter-spacing: 0.04em;
        font-variant-numeric: tabular-nums;
      }
      .on-air .rec {
        width: 9px;
        height: 9px;
        border-radius: 50%;
        background: var(--bt-live);
        animation: pulse 1.6s ease-in-out infinite;
      }
      @keyframes pulse {
        50% {
          opacity: 0.35;
        }
      }
      @media (prefers-reduced-motion: reduce) {
        .on-air .rec {
          animation: none;
        }
      }
      .state {
        display: inline-flex;
        align-items: center;
        gap: 8px;
        font-size: 0.88rem;
        color: var(--bt-text-dim);
      }
      .problem {
        display: grid;
        gap: 4px;
        padding: 12px 14px;
        border-radius: var(--bt-radius-sm);
        background: var(--bt-err-soft);
        border: 1px solid color-mix(in srgb, var(--bt-err) 35%, transparent);
      }
      .problem h3 {
        color: var(--bt-err);
        font-size: 0.98rem;
      }
      .problem p {
        font-size: 0.9rem;
        color: var(--bt-text);
      }
      .watch {
        display: inline-flex;
        align-items: center;
        gap: 6px;
        margin-left: auto;
        font-weight: 600;
        font-size: 0.92rem;
      }
      .result {
        font-size: 0.92rem;
      }
      .section-head {
        display: flex;
        flex-wrap: wrap;
        align-items: baseline;
        justify-content: space-between;
        gap: 4px 12px;
      }
      .section-head span {
        font-size: 0.8rem;
      }
      .servers {
        display: grid;
        gap: 10px;
      }
      .ingest {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(min(100%, 300px), 1fr));
        gap: var(--bt-gap);
      }
      .servers .why {
        font-size: 0.85rem;
        color: var(--bt-text-dim);
      }
      /* On a narrow screen the form leads until the broadcast starts; then the preview and figures do. */
      @media (max-width: 900px) {
        .layout.setup-first baton-broadcast-setup {
          order: -1;
        }
      }
      .notices li.warning {
        background: var(--bt-surface-2);
        color: var(--bt-text-dim);
      }
    `,
  ];

  readonly #c = new BroadcastController(this);
  #onAir = false;
  readonly #lookup = (q: string, limit: number) => this.#c.places(q, limit);
  readonly #locate = () => this.#c.deviceLocation();

  protected override updated(): void {
    // The app shell keeps this page (and the broadcast) alive across navigation while it is on air.
    if (this.#c.live !== this.#onAir) {
      this.#onAir = this.#c.live;
      this.dispatchEvent(onAirEvent(this.#onAir));
    }
  }

  override render() {
    const c = this.#c;
    const s = c.status;
    return html`
      <header class="page-head">
        <div>
          <h1>Broadcast</h1>
          <p class="muted">Go live from this browser. Your stream is uploaded to two entry servers at once: a primary near where you are and a backup.</p>
        </div>
        <span class="state" role="status" data-testid="broadcast-state" data-phase=${s.phase}>${this.#stateLabel(s)}</span>
      </header>
      ${c.hub === 'offline' ? html`<p class="banner" role="alert">Cannot reach the hub — retrying. ${c.live ? 'Uploads continue; a failed server cannot be replaced until it is back.' : ''}</p>` : null}
      <div class="layout ${s.phase === 'idle' ? 'setup-first' : ''}">
        <div class="stage">
          <div class="screen">${c.capture.preview} ${this.#overlay(s)}</div>
          ${s.problem ? this.#problem(s.problem, s.phase === 'ended') : null} ${s.phase !== 'idle' ? this.#statusPanel(s) : null}
          ${s.assignment ? this.#servers(s) : null} ${this.#notices(s)}
        </div>
        <baton-broadcast-setup
          .kind=${c.capture.kind}
          .sourceState=${c.capture.state}
          .source=${c.capture.info}
          .phase=${s.phase}
          .problem=${s.problem}
          .lookup=${this.#lookup}
          .locate=${this.#locate}
          .hubReady=${c.hub === 'connected'}
          @source-select=${(e: CustomEvent<{ kind: SourceKind }>) => void c.selectSource(e.detail.kind)}
          @source-file=${(e: CustomEvent<{ file: File }>) => void c.useFile(e.detail.file)}
          @go-live=${(e: CustomEvent<GoLiveOptions>) => void c.goLive(e.detail)}
          @end-broadcast=${() => void c.stop()}
          @new-broadcast=${() => c.reset()}
          @form-edit=${() => c.clearProblem()}
        ></baton-broadcast-setup>
      </div>
    `;
  }

  #stateLabel(s: BroadcastStatus) {
    switch (s.phase) {
      case 'starting':
        return html`<span class="dot warn"></span>Going live…`;
      case 'live':
        return html`<span class="badge live">live</span>on air ${formatDuration(s.elapsedMs)}`;
      case 'ending':
        return html`<span class="dot warn"></span>Finalizing…`;
      case 'ended':
        return s.result ? html`<span class="dot ok"></span>Ended · stored` : html`<span class="dot err"></span>Stopped`;
      default:
        return html`<span class="dot"></span>Not live`;
    }
  }

  #overlay(s: BroadcastStatus) {
    const src = this.#c.capture;
    if (s.phase === 'live' || s.phase === 'ending') {
      return html`<span class="on-air" aria-hidden="true"><span class="rec"></span>${s.phase === 'live' ? 'LIVE' : 'ENDING'} ${formatDuration(s.elapsedMs)}</span>`;
    }
    if (s.phase === 'starting' && src.state === 'ready') {
      const a = s.assignment;
      const text = a
        ? `Connecting to ${[a.primary.serverId, a.backup?.serverId].filter(Boolean).join(' and ')}…`
        : 'Asking the director for entry servers…';
      return html`<div class="overlay soft" role="status"><div><span class="spinner" aria-hidden="true"></span><p>${text}</p></div></div>`;
    }
    if (src.problem) {
      const p = src.problem;
      return html`<div class="overlay error" role="alert" data-testid="source-problem" data-code=${p.code}>
        <div>
          <h2>${PROBLEM_TITLES[p.code] ?? 'The source did not start'}</h2>
          <p>${p.message}</p>
          ${src.kind !== 'file' ? html`<div class="actions"><button @click=${() => void src.acquire()}>Try again</button></div>` : null}
        </div>
      </div>`;
    }
    if (src.state === 'acquiring') {
      return html`<div class="overlay" role="status"><div><span class="spinner" aria-hidden="true"></span><p>${WAITING[src.kind]}</p></div></div>`;
    }
    if (src.state === 'none') {
      const file = src.kind === 'file';
      return html`<div class="overlay">
        <div>
          <h2>${file ? 'Pick a video file' : src.kind === 'camera' ? 'Camera is off' : 'Nothing shared yet'}</h2>
          <p>
            ${
              file
                ? 'Choose a file in the settings: it plays here and is broadcast as it plays.'
                : 'The preview appears here. You can also just press Go live; the browser asks for permission first.'
            }
          </p>
          ${
            file
              ? null
              : html`<div class="actions">
                <button @click=${() => void src.acquire()}>${src.kind === 'camera' ? 'Turn on camera' : 'Share screen'}</button>
              </div>`
          }
        </div>
      </div>`;
    }
    return null;
  }

  #problem(p: Problem, stopped: boolean) {
    const title = PROBLEM_TITLES[p.code] ?? (stopped ? 'The broadcast stopped' : 'Could not go live');
    return html`<div class="problem" role="alert" data-testid="broadcast-problem" data-code=${p.code}>
      <h3>${title}</h3>
      <p>${p.message}</p>
    </div>`;
  }

  #statusPanel(s: BroadcastStatus) {
    const watchHref = s.streamId ? hrefFor('watch', s.streamId) : null;
    const overhead = s.bytes > 0 ? s.wireBytes / s.bytes : null;
    return html`<section class="card now" part="status" aria-label="broadcast status">
      <div class="now-head">
        <h3 data-testid="stream-id">${s.streamId ?? 'Waiting for a stream id…'}</h3>
        ${s.phase === 'live' ? html`<span class="badge live">live</span>` : null}
        ${s.phase === 'ended' && s.result ? html`<span class="badge ok">stored</span>` : null}
        ${s.mime ? html`<span class="faint mono">${codecsOf(s.mime)}</span>` : null}
        ${
          watchHref && (s.phase === 'live' || s.phase === 'ending' || s.result)
            ? html`<a class="watch" href=${watchHref} target="_blank" rel="noopener" data-testid="watch-link"
              >${s.result ? 'Watch the recording' : 'Open the player on this stream'} ${externalIcon}</a
            >`
            : null
        }
      </div>
      ${
        s.result
          ? html`<p class="result" data-testid="broadcast-result">
            Stored on ${listServers(s.result.stored)}: ${formatBytes(s.result.bytes)}, identical copies,
            now in the catalog.${s.result.failovers.length ? ` ${s.result.failovers.length} failover${s.result.failovers.length === 1 ? '' : 's'} on the way, nothing lost.` : ''}
          </p>`
          : null
      }
      <dl class="stats">
        <div class="stat"><dt>On air</dt><dd>${s.startedAt === null ? '—' : formatDuration(s.elapsedMs)}</dd></div>
        <div class="stat" title="Viewers of this stream on every server of the cluster">
          <dt>Watching</dt><dd data-testid="broadcast-viewers">${s.phase === 'live' && s.viewers !== null ? thousands(s.viewers) : '—'}</dd>
        </div>
        <div class="stat"><dt>Stream bitrate</dt><dd data-testid="stream-bitrate">${s.phase === 'live' ? formatBitrate(s.streamBps ?? undefined) : '—'}</dd></div>
        <div class="stat" title="What leaves this browser for all entry servers together">
          <dt>Upload</dt><dd data-testid="upload-bitrate">${s.phase === 'live' ? formatBitrate(s.uploadBps ?? undefined) : '—'}</dd>
        </div>
        <div class="stat"><dt>Recorded</dt><dd data-testid="recorded-bytes">${formatBytes(s.bytes)}</dd></div>
        <div class="stat" title="Bytes sent to all servers ÷ the stream's bytes"><dt>Sent ÷ stream</dt><dd>${overhead === null ? '—' : `${overhead.toFixed(2)}×`}</dd></div>
        <div class="stat" title="Held until every server has stored it"><dt>Resend buffer</dt><dd>${s.phase === 'ended' ? '—' : formatBytes(s.bufferedBytes)}</dd></div>
      </dl>
    </section>`;
  }

  #servers(s: BroadcastStatus) {
    const a = s.assignment!;
    // Working uploads first (primary before backup), failed ones after, so the current pair leads.
    const rank = (u: UploadInfo) => (u.state === 'failed' ? 2 : 0) + (u.role === 'primary' ? 0 : 1);
    const uploads = [...s.uploads].sort((x, y) => rank(x) - rank(y));
    const original = new Set([a.primary.serverId, a.backup?.serverId]);
    return html`<section class="servers" aria-labelledby="servers-title" data-testid="assignment">
      <div class="section-head">
        <h2 id="servers-title">Entry servers</h2>
        <span class="faint">assigned by the director · epoch ${a.epoch}</span>
      </div>
      <div class="ingest">
        ${uploads.map(
          (u) => html`<baton-ingest-card
            .upload=${u}
            .choice=${s.choices[u.serverId] ?? null}
            .streamBytes=${s.bytes}
            .streamBps=${s.streamBps}
            .replacement=${!original.has(u.serverId)}
          ></baton-ingest-card>`,
        )}
      </div>
      <p class="why">
        The primary has the best estimated round trip from where you said you are; the backup is the best from where your IP address
        is${
          a.ipUnknown
            ? html` — <span data-testid="ip-unknown">your IP address could not be located (a private or loopback address), so the backup is the next best from
              the place you gave</span>`
            : null
        }.
        Every chunk goes to both, and each server acknowledges what it has stored durably.
      </p>
    </section>`;
  }

  #notices(s: BroadcastStatus) {
    if (s.notices.length === 0) return null;
    return html`<ul class="notices" aria-live="polite">
      ${s.notices.map(
        (n) => html`<li class=${n.kind} data-testid=${n.kind === 'failover' ? 'failover' : 'warning'}>
          <span>${n.text}</span>
          <time>${formatClock(n.atMs)}</time>
        </li>`,
      )}
    </ul>`;
  }
}

/** `a`, `a and b`, `a, b and c`, each in bold monospace. */
function listServers(ids: readonly string[]) {
  return ids.map((id, i) => html`${i === 0 ? '' : i === ids.length - 1 ? ' and ' : ', '}<b class="mono">${id}</b>`);
}

const externalIcon = html`<svg width="14" height="14" viewBox="0 0 24 24" aria-hidden="true">
  <path fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" d="M14 4h6v6M20 4l-9 9M18 14v5a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1V7a1 1 0 0 1 1-1h5" />
</svg>`;

customElements.define('baton-broadcaster', BatonBroadcaster);

declare global {
  interface HTMLElementTagNameMap {
    'baton-broadcaster': BatonBroadcaster;
  }
}
