// Defaults of a media server's link to its hubs (no imports: the CLI reads them at start-up).

/**
 * Several hubs: after a failover a server registers with the first hub of its list again once its attachment there has
 * been up this long without a break (times 1 to 1.5, drawn per server, so a restarted hub's servers come back spread
 * out, not at once). Without it, registrations pile up on the hubs that never restarted: after a rolling restart of
 * three hubs, all six servers of a test cluster sat on one.
 */
export const DEFAULT_HUB_RETURN_MS = 30_000;
