// Structured logs (pino): JSON by default, pretty on a terminal or with BATON_LOG_FORMAT=pretty.
import { pino, type Logger } from 'pino';

export type { Logger };

let root: Logger | undefined;

function makeRoot(): Logger {
  const level = process.env.BATON_LOG_LEVEL ?? (process.env.VITEST ? 'warn' : 'info');
  const format = process.env.BATON_LOG_FORMAT ?? (process.stderr.isTTY ? 'pretty' : 'json');
  if (format === 'pretty') {
    return pino({
      level,
      transport: { target: 'pino-pretty', options: { destination: 2, colorize: true, translateTime: 'HH:MM:ss.l' } },
    });
  }
  // Logs go to stderr so that stdout stays for what a command prints (URLs, --json results).
  return pino({ level }, pino.destination({ fd: 2, sync: false }));
}

/** One logger per module: `logger('hub')`, `logger('media-server', { server: id })`. */
export function logger(module: string, bindings: Record<string, unknown> = {}): Logger {
  root ??= makeRoot();
  return root.child({ module, ...bindings });
}
