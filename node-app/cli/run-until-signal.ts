// Keeps a long-running command (hub, server) up until SIGINT/SIGTERM, then stops it once.

/** Runs `start`, then waits for SIGINT/SIGTERM and calls `stop` once. */
export function runUntilSignal(stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    stop().then(
      () => process.exit(0),
      (err) => {
        console.error(`error while stopping after ${sig}: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
