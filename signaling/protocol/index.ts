// The wire contract shared by hub, media servers and browsers. No Node or DOM imports.
export * from './ids.js';
export * from './types.js';
export * from './load-factor.js';
export * from './state-table.js';
export * from './messages.js';
export * from './bounds.js';
export * from './events.js';
export * from './replies.js';
export * from './table-messages.js';
