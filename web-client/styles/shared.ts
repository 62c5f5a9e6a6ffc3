// Styles shared by every Baton component's shadow root: cards, badges, stats, buttons, empty states.
import { css } from 'lit';

export const sharedStyles = css`
  /* Shadow roots do not inherit the document's box-sizing rule. */
  *,
  *::before,
  *::after {
    box-sizing: border-box;
  }

  :host {
    color: var(--bt-text);
    font-family: var(--bt-font);
  }

  h1,
  h2,
  h3 {
    margin: 0;
    font-weight: 600;
    letter-spacing: -0.01em;
  }
  h1 {
    font-size: 1.45rem;
  }
  h2 {
    font-size: 0.8rem;
    text-transform: uppercase;
    letter-spacing: 0.08em;
    color: var(--bt-text-dim);
  }
  h3 {
    font-size: 1rem;
  }
  p {
    margin: 0;
    /* A word longer than its box (a pasted link, a long id, a search echoed back) wraps instead of widening the page. */
    overflow-wrap: anywhere;
  }

  .card {
    background: var(--bt-surface);
    border: 1px solid var(--bt-border);
    border-radius: var(--bt-radius);
    padding: 16px;
    min-width: 0;
  }
  .card-head {
    display: flex;
    align-items: center;
    justify-content: space-between;
    gap: 12px;
    margin-bottom: 12px;
  }

  .muted {
    color: var(--bt-text-dim);
  }
  .faint {
    color: var(--bt-text-faint);
  }
  .mono {
    font-family: var(--bt-mono);
    font-size: 0.92em;
  }
  .nowrap {
    white-space: nowrap;
  }

  .badge {
    display: inline-flex;
    align-items: center;
    gap: 6px;
    padding: 2px 8px;
    border-radius: 999px;
    font-size: 0.78rem;
    font-weight: 600;
    line-height: 1.5;
    white-space: nowrap;
    background: var(--bt-surface-3);
    color: var(--bt-text-dim);
    border: 1px solid transparent;
  }
  .badge.reason-director-cache,
  .badge.director {
    background: var(--bt-director-soft);
    color: var(--bt-director);
  }
  .badge.reason-cache,
  .badge.ok {
    background: var(--bt-ok-soft);
    color: var(--bt-ok);
  }
  .badge.reason-storage,
  .badge.warn {
    background: var(--bt-warn-soft);
    color: var(--bt-warn);
  }
  .badge.reason-live,
  .badge.live {
    background: var(--bt-err-soft);
    color: var(--bt-live);
  }
  .badge.err {
    background: var(--bt-err-soft);
    color: var(--bt-err);
  }
  .badge.accent {
    background: var(--bt-accent-soft);
    color: var(--bt-accent);
  }

  .dot {
    display: inline-block;
    width: 8px;
    height: 8px;
    border-radius: 50%;
    background: var(--bt-text-faint);
    flex: none;
  }
  .dot.ok {
    background: var(--bt-ok);
    box-shadow: 0 0 0 3px var(--bt-ok-soft);
  }
  .dot.warn {
    background: var(--bt-warn);
    box-shadow: 0 0 0 3px var(--bt-warn-soft);
  }
  .dot.err {
    background: var(--bt-err);
    box-shadow: 0 0 0 3px var(--bt-err-soft);
  }

  .stats {
    display: grid;
    grid-template-columns: repeat(auto-fit, minmax(120px, 1fr));
    gap: 12px;
    margin: 0;
  }
  .stat {
    min-width: 0;
  }
  .stat dt {
    font-size: 0.75rem;
    text-transform: uppercase;
    letter-spacing: 0.06em;
    color: var(--bt-text-faint);
  }
  .stat dd {
    margin: 2px 0 0;
    font-size: 1.05rem;
    font-variant-numeric: tabular-nums;
    overflow: hidden;
    text-overflow: ellipsis;
    white-space: nowrap;
  }

  button {
    font: inherit;
    font-size: 0.88rem;
    color: var(--bt-text);
    background: var(--bt-surface-3);
    border: 1px solid var(--bt-border-strong);
    border-radius: var(--bt-radius-sm);
    padding: 6px 12px;
    cursor: pointer;
  }
  button:hover {
    border-color: var(--bt-accent);
  }
  button:focus-visible,
  a:focus-visible {
    outline: 2px solid var(--bt-accent);
    outline-offset: 2px;
  }
  button:disabled {
    opacity: 0.5;
    cursor: default;
  }

  a {
    color: var(--bt-accent);
  }

  .empty {
    padding: 20px 12px;
    text-align: center;
    color: var(--bt-text-dim);
    border: 1px dashed var(--bt-border);
    border-radius: var(--bt-radius-sm);
    font-size: 0.92rem;
  }

  .chips {
    display: flex;
    flex-wrap: wrap;
    gap: 6px;
  }
  .chip {
    font-family: var(--bt-mono);
    font-size: 0.78rem;
    padding: 1px 7px;
    border-radius: var(--bt-radius-sm);
    background: var(--bt-surface-2);
    border: 1px solid var(--bt-border);
    color: var(--bt-text);
    max-width: 100%;
    overflow: hidden;
    text-overflow: ellipsis;
    white-space: nowrap;
  }

  .sr-only {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
  }
`;
