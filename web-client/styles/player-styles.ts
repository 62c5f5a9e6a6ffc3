// The player page's layout: video stage, overlays, the now-playing panel, failover notices.
import { css } from 'lit';

export const playerStyles = css`
  :host {
    display: block;
  }
  .layout {
    display: grid;
    grid-template-columns: minmax(0, 1fr) 320px;
    gap: var(--bt-gap);
    align-items: start;
  }
  @media (max-width: 900px) {
    .layout {
      grid-template-columns: minmax(0, 1fr);
    }
  }
  .stage {
    display: grid;
    gap: var(--bt-gap);
    min-width: 0;
  }
  .screen {
    position: relative;
    aspect-ratio: 16 / 9;
    background: #000;
    border-radius: var(--bt-radius);
    overflow: hidden;
    border: 1px solid var(--bt-border);
  }
  video {
    display: block;
    width: 100%;
    height: 100%;
    object-fit: contain;
    background: #000;
  }
  .overlay {
    position: absolute;
    inset: 0;
    display: grid;
    place-items: center;
    padding: 24px;
    text-align: center;
    background: rgb(8 10 14 / 82%);
  }
  .overlay.soft {
    background: rgb(8 10 14 / 45%);
    pointer-events: none;
  }
  .overlay > div {
    display: grid;
    gap: 8px;
    justify-items: center;
    max-width: 460px;
  }
  .overlay h2 {
    font-size: 1.15rem;
    text-transform: none;
    letter-spacing: 0;
    color: var(--bt-text);
  }
  .overlay p {
    color: var(--bt-text-dim);
  }
  .overlay.error h2 {
    color: var(--bt-err);
  }
  .overlay .actions {
    display: flex;
    gap: 10px;
    margin-top: 6px;
  }
  .spinner {
    width: 28px;
    height: 28px;
    border-radius: 50%;
    border: 3px solid var(--bt-border-strong);
    border-top-color: var(--bt-accent);
    animation: spin 0.9s linear infinite;
  }
  @keyframes spin {
    to {
      transform: rotate(360deg);
    }
  }
  @media (prefers-reduced-motion: reduce) {
    .spinner {
      animation-duration: 3s;
    }
  }
  .now {
    display: grid;
    gap: 14px;
  }
  .now-head {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: 8px 10px;
  }
  .now-head h3 {
    font-size: 1.1rem;
    overflow-wrap: anywhere;
  }
  .now-head .viewers {
    /* A pill like the state badges, but not one of them: it says who watches, not how the stream is. */
    padding: 2px 8px;
    border-radius: 999px;
    font-size: 0.78rem;
    font-weight: 600;
    white-space: nowrap;
    background: var(--bt-surface-3);
    font-variant-numeric: tabular-nums;
  }
  .now .description {
    margin: 0;
    color: var(--bt-text-dim);
    white-space: pre-line;
    overflow-wrap: anywhere;
  }
  .now-head .jump-live {
    font-size: 0.82rem;
    padding: 2px 10px;
  }
  .now-head .jump-live:disabled {
    opacity: 0.6;
    cursor: default;
  }
  .now-head .badge.latency {
    font-variant-numeric: tabular-nums;
  }
  .now-head .low-latency {
    display: inline-flex;
    align-items: center;
    gap: 4px;
    font-size: 0.82rem;
    cursor: pointer;
  }
  .now-head .codecs {
    margin-left: auto;
    font-size: 0.82rem;
  }
  .now-head .quality {
    display: inline-flex;
    align-items: center;
    gap: 6px;
    font-size: 0.85rem;
  }
  .now-head .quality select {
    font: inherit;
    padding: 2px 4px;
  }
  .served {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: 6px 10px;
    font-size: 0.92rem;
  }
  .server-badge {
    display: inline-flex;
    align-items: baseline;
    gap: 6px;
    padding: 3px 10px;
    border-radius: var(--bt-radius-sm);
    background: var(--bt-surface-2);
    border: 1px solid var(--bt-border);
  }
  .server-badge .mono {
    font-weight: 600;
  }
  .why {
    font-size: 0.85rem;
    color: var(--bt-text-dim);
    flex-basis: 100%;
  }
  .now .stats {
    display: flex;
    flex-wrap: wrap;
    gap: 12px 32px;
  }
  @media (max-width: 560px) {
    .now .stats {
      display: grid;
      grid-template-columns: repeat(2, minmax(0, 1fr));
      gap: 12px;
    }
  }
  .notices {
    display: grid;
    gap: 8px;
    margin: 0;
    padding: 0;
    list-style: none;
  }
  .notices li {
    display: flex;
    gap: 10px;
    align-items: baseline;
    padding: 10px 14px;
    border-radius: var(--bt-radius-sm);
    background: var(--bt-warn-soft);
    color: var(--bt-text);
    font-size: 0.9rem;
  }
  .notices time {
    margin-left: auto;
    color: var(--bt-text-faint);
    font-variant-numeric: tabular-nums;
    white-space: nowrap;
  }
  .banner {
    padding: 10px 14px;
    border-radius: var(--bt-radius-sm);
    background: var(--bt-err-soft);
    color: var(--bt-err);
    font-size: 0.9rem;
  }
  .page-head {
    display: flex;
    flex-wrap: wrap;
    align-items: flex-end;
    justify-content: space-between;
    gap: 8px 16px;
    margin-bottom: var(--bt-gap);
  }
  .page-head p {
    margin-top: 4px;
  }
`;
