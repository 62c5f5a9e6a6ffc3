// Defaults of a media server's session slots and of its unconnected-session expiry (no imports: the CLI reads them at start-up).

/** Broadcast (ingest) slots when not configured, apart from viewers': each is a file being written and fsynced. */
export const DEFAULT_MAX_INGEST_SESSIONS = 16;

/**
 * A viewer session whose channel is not open by then is closed, freeing its slot.
 * A viewer's offer follows the hub's answer within milliseconds and a connection
 * takes well under a second even through TURN; a session nobody connects to is
 * abandoned, or an attack on the server's slots (at 20 s one client held 100).
 */
export const UNCONNECTED_SESSION_MS = 5_000;
