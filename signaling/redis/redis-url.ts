// A Redis URL checked at start-up, apart from the client: every CLI command parses its flags, and only a hub on Redis needs ioredis loaded.
import { CodedError } from '../../common/coded-error.js';

export class RedisUrlError extends CodedError<'bad-redis-url'> {
  override readonly name = 'RedisUrlError';
  constructor(message: string) {
    super('bad-redis-url', message);
  }
}

/** `redis://host:port[/db]` (or `rediss://` for TLS): checked here so a typo is a clear start-up error. */
export function parseRedisUrl(raw: string): { url: string; host: string; port: number; db: number; tls: boolean } {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new RedisUrlError(`not a URL: ${JSON.stringify(raw)} (expected redis://host:port[/db])`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new RedisUrlError(`unsupported scheme ${u.protocol} in ${raw} (expected redis:// or rediss://)`);
  }
  if (!u.hostname) throw new RedisUrlError(`no host in ${raw}`);
  const port = u.port ? Number(u.port) : 6379;
  const dbText = u.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0 || db > 15) throw new RedisUrlError(`bad database number ${JSON.stringify(dbText)} in ${raw} (0–15)`);
  return { url: raw, host: u.hostname, port, db, tls: u.protocol === 'rediss:' };
}
