// Reads a file the operator names (a config file, a secret file) no further than its bound: a size from stat says
// nothing of a device or a FIFO (`/dev/zero`, `<(yes)` report 0 bytes and never end), so the bound is on what is read.
import { closeSync, openSync, readSync } from 'node:fs';

/**
 * The file's text (UTF-8), read at most `maxBytes` + 1 bytes into it. Throws `larger than N bytes` once it holds more
 * (whatever stat says), and whatever `open`/`read` throw (ENOENT, EISDIR).
 */
export function readBoundedFile(file: string, maxBytes: number): string {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(maxBytes + 1);
    let n = 0;
    for (;;) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
      if (n > maxBytes) throw new Error(`larger than ${maxBytes} bytes`);
    }
    return buf.toString('utf8', 0, n);
  } finally {
    closeSync(fd);
  }
}
