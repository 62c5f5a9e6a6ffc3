// One entry server of a broadcast: why it was chosen (estimated RTT, from where) and how its upload is doing.
import { LitElement, css, html } from 'lit';
import type { IngestChoice } from '../../signaling/protocol/messages.js';
import type { Place } from '../../signaling/protocol/types.js';
import type { UploadInfo } from '../../client-sdk/publisher.js';
import { sharedStyles } from '../styles/shared.js';
import { formatBytes, formatLoad } from './format.js';

/**
 * Acks follow the servers' fsyncs (at least every second), so a healthy upload
 * trails the recorder by a second or two; past this it is falling behind (s).
 */
const BEHIND_WARN_S = 5;

const FROM_SOURCE: Record<Place['source'], string> = {
  typed: 'the place you typed',
  coordinates: 'your coordinates',
  device: 'your device location',
  ip: 'your IP address',
};

type Health = { tone: 'ok' | 'warn' | 'err' | 'idle'; label: string };

/**
 * @csspart card - the card container
 */
export class BatonIngestCard extends LitElement {
  static override properties = {
    upload: { attribute: false },
    choice: { attribute: false },
    streamBytes: { type: Number },
    streamBps: { type: Number },
    replacement: { type: Boolean },
  };

  declare upload: UploadInfo | null;
  /** The director's estimate for this server, when known. */
  declare choice: IngestChoice | null;
  /** Stream bytes recorded so far (what a complete copy holds). */
  declare streamBytes: number;
  /** The stream's bitrate, to express lag in seconds (bits/s). */
  declare streamBps: number | null;
  /** This server took over from one that failed. */
  declare replacement: boolean;

  static override styles = [
    sharedStyles,
    css`
      :host {
        display: block;
        min-width: 0;
      }
      .card {
        display: grid;
        gap: 12px;
        height: 100%;
      }
      .card.failed {
        border-color: color-mix(in srgb, var(--bt-err) 45%, var(--bt-border));
        opacity: 0.85;
      }
      header {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 6px 10px;
      }
      header h3 {
        font-family: var(--bt-mono);
        font-size: 1.05rem;
      }
      .region {
        font-size: 0.88rem;
      }
      .health {
        margin-left: auto;
        display: inline-flex;
        align-items: center;
        gap: 7px;
        font-size: 0.88rem;
        font-weight: 600;
      }
      .health.ok {
        color: var(--bt-ok);
      }
      .health.warn {
        color: var(--bt-warn);
      }
      .health.err {
        color: var(--bt-err);
      }
      .health.idle {
        color: var(--bt-text-dim);
      }
      .badge.primary {
        background: var(--bt-accent-soft);
        color: var(--bt-accent);
      }
      .badge.backup {
        background: var(--bt-director-soft);
        color: var(--bt-director);
      }
      .estimate {
        font-size: 0.9rem;
        color: var(--bt-text-dim);
      }
      .estimate b {
        color: var(--bt-text);
        font-variant-numeric: tabular-nums;
      }
      .meter {
        height: 6px;
        border-radius: 3px;
        background: var(--bt-surface-3);
        overflow: hidden;
      }
      .meter span {
        display: block;
        height: 100%;
        background: var(--bt-ok);
        border-radius: 3px;
        transition: width 0.4s ease;
      }
      .meter.warn span {
        background: var(--bt-warn);
      }
      .meter.err span {
        background: var(--bt-err);
      }
      .stats {
        grid-template-columns: repeat(4, minmax(0, 1fr));
      }
      @media (max-width: 420px) {
        .stats {
          grid-template-columns: repeat(2, minmax(0, 1fr));
        }
      }
      .stat dd {
        font-size: 0.98rem;
      }
      .error {
        font-size: 0.85rem;
        color: var(--bt-err);
        overflow-wrap: anywhere;
      }
      @media (prefers-reduced-motion: reduce) {
        .meter span {
          transition: none;
        }
      }
    `,
  ];

  constructor() {
    super();
    this.upload = null;
    this.choice = null;
    this.streamBytes = 0;
    this.streamBps = null;
    this.replacement = false;
  }

  override render() {
    const u = this.upload;
    if (!u) return null;
    const c = this.choice;
    const lagBytes = Math.max(0, this.streamBytes - u.ackedBytes);
    const lagS = this.streamBps && this.streamBps > 0 ? (lagBytes * 8) / this.streamBps : null;
    const health = healthOf(u, lagS);
    const share = this.streamBytes > 0 ? Math.min(1, u.ackedBytes / this.streamBytes) : 0;
    return html`<article
      class="card ${u.state === 'failed' ? 'failed' : ''}"
      part="card"
      data-testid="ingest-card"
      data-role=${u.role}
      data-server=${u.serverId}
      data-state=${u.state}
      aria-label="${u.role} entry server ${u.serverId}"
    >
      <header>
        <span class="badge ${u.role}">${u.role === 'primary' ? 'Primary' : 'Backup'}</span>
        <h3 data-testid="ingest-server">${u.serverId}</h3>
        <span class="region faint">${u.region}</span>
        ${this.replacement ? html`<span class="badge warn" title="Took over from a server that failed">replacement</span>` : null}
        <span class="health ${health.tone}" data-testid="ingest-health"><span class="dot ${health.tone === 'idle' ? '' : health.tone}"></span>${health.label}</span>
      </header>
      ${
        c
          ? html`<p class="estimate" data-testid="ingest-estimate">
            Estimated RTT <b data-testid="ingest-rtt">≈ ${formatRtt(c.rttMs)}</b> from <b>${c.from.label}</b>
            <span class="faint">(${FROM_SOURCE[c.from.source] ?? c.from.source})</span>
          </p>`
          : html`<p class="estimate faint">No estimate received for this server.</p>`
      }
      <div
        class="meter ${health.tone === 'err' ? 'err' : health.tone === 'warn' ? 'warn' : ''}"
        role="meter"
        aria-label="share of the stream stored durably on ${u.serverId}"
        aria-valuemin="0"
        aria-valuemax="100"
        aria-valuenow=${Math.round(share * 100)}
      >
        <span style="width:${(share * 100).toFixed(1)}%"></span>
      </div>
      <dl class="stats">
        <div class="stat"><dt>Stored</dt><dd data-testid="ingest-stored">${formatBytes(u.ackedBytes)}</dd></div>
        <div class="stat"><dt>Sent</dt><dd>${formatBytes(u.sentBytes)}</dd></div>
        <div class="stat">
          <dt>Behind</dt>
          <dd>${u.state === 'failed' || u.state === 'done' ? '—' : lagS === null ? formatBytes(lagBytes) : `${lagS.toFixed(1)} s`}</dd>
        </div>
        <div class="stat"><dt>Load</dt><dd>${c ? formatLoad(c.loadFactor) : '—'}</dd></div>
      </dl>
      ${u.error ? html`<p class="error" role="status">${u.error.message} <span class="faint mono">${u.error.code}</span></p>` : null}
    </article>`;
  }
}

function healthOf(u: UploadInfo, lagS: number | null): Health {
  switch (u.state) {
    case 'connecting':
      return { tone: 'warn', label: 'Connecting…' };
    case 'streaming':
      return lagS !== null && lagS > BEHIND_WARN_S ? { tone: 'warn', label: 'Falling behind' } : { tone: 'ok', label: 'Healthy' };
    case 'ending':
      return { tone: 'warn', label: 'Finalizing…' };
    case 'done':
      return { tone: 'ok', label: 'Stored' };
    case 'failed':
      return { tone: 'err', label: 'Failed' };
  }
}

function formatRtt(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

customElements.define('baton-ingest-card', BatonIngestCard);

declare global {
  interface HTMLElementTagNameMap {
    'baton-ingest-card': BatonIngestCard;
  }
}
