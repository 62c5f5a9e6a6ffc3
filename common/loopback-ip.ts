// Whether a client address is this machine's own: per-IP caps on anonymous clients do not apply to it (every local
// viewer, test and benchmark shares one address), the per-connection and global caps still do.

export function isLoopbackIp(ip: string): boolean {
  const v4 = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  return v4.startsWith('127.') || ip === '::1';
}
