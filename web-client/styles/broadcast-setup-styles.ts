// The broadcast form's layout: source picker, file pick, device location, go-live and end buttons.
import { css } from 'lit';

export const broadcastSetupStyles = css`
  :host {
    display: block;
    min-width: 0;
  }
  form {
    display: grid;
    gap: 18px;
  }
  fieldset {
    margin: 0;
    padding: 0;
    border: 0;
    display: grid;
    gap: 8px;
    min-width: 0;
  }
  legend {
    padding: 0;
    margin-bottom: 6px;
    font-size: 0.78rem;
    font-weight: 600;
    text-transform: uppercase;
    letter-spacing: 0.06em;
    color: var(--bt-text-dim);
  }
  .segmented {
    display: grid;
    grid-template-columns: repeat(3, minmax(0, 1fr));
    gap: 0;
    border: 1px solid var(--bt-border-strong);
    border-radius: var(--bt-radius-sm);
    overflow: hidden;
  }
  .segmented button {
    border: 0;
    border-radius: 0;
    background: var(--bt-surface-2);
    color: var(--bt-text-dim);
    padding: 8px 6px;
    font-weight: 500;
  }
  .segmented button + button {
    border-left: 1px solid var(--bt-border-strong);
  }
  .segmented button[aria-pressed='true'] {
    background: var(--bt-accent-soft);
    color: var(--bt-accent);
    font-weight: 600;
  }
  .source-info {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: 4px 8px;
    font-size: 0.85rem;
    color: var(--bt-text-dim);
    min-width: 0;
  }
  .source-info .name {
    overflow: hidden;
    text-overflow: ellipsis;
    white-space: nowrap;
    max-width: 100%;
    color: var(--bt-text);
  }
  .file-pick {
    display: inline-flex;
    align-items: center;
    justify-content: center;
    gap: 8px;
    padding: 7px 12px;
    border: 1px dashed var(--bt-border-strong);
    border-radius: var(--bt-radius-sm);
    color: var(--bt-text);
    font-size: 0.9rem;
    cursor: pointer;
  }
  .file-pick:hover {
    border-color: var(--bt-accent);
  }
  .file-pick:focus-within {
    outline: 2px solid var(--bt-accent);
    outline-offset: 2px;
  }
  .file-pick input {
    position: absolute;
    width: 1px;
    height: 1px;
    opacity: 0;
  }
  .locate {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: 6px 10px;
    font-size: 0.85rem;
  }
  button.link {
    background: none;
    border: 0;
    padding: 0;
    color: var(--bt-accent);
    font-size: 0.85rem;
    display: inline-flex;
    align-items: center;
    gap: 6px;
  }
  button.link:hover {
    text-decoration: underline;
  }
  .locate .err {
    color: var(--bt-err);
  }
  .actions {
    display: grid;
    gap: 8px;
  }
  button.go,
  button.end {
    width: 100%;
    padding: 10px 14px;
    font-size: 1rem;
    font-weight: 600;
  }
  button.go {
    background: var(--bt-live);
    border-color: transparent;
    color: #fff;
  }
  button.go:hover:not(:disabled) {
    background: color-mix(in srgb, var(--bt-live) 85%, #fff);
  }
  button.end {
    background: var(--bt-surface-3);
    border-color: var(--bt-err);
    color: var(--bt-err);
  }
  .actions .hint {
    font-size: 0.82rem;
    color: var(--bt-text-faint);
  }
`;
