// Secrets for the CLI: from a flag, the environment, or a file (flags show in `ps`, files need
// not), checked for length before anything starts.
import type { Command } from 'commander';
import { MIN_SECRET_BYTES } from '../../signaling/auth.js';
import { readBoundedFile } from './bounded-file.js';

/** A secret file longer than this is not a secret file. */
const MAX_SECRET_FILE_BYTES = 4_096;

/** Each secret option (attribute name) with its `-file` twin, the shortest value taken, and how to make a good one. */
export const SECRET_OPTIONS: ReadonlyArray<{ key: string; fileKey: string; flag: string; minBytes: number; make?: string }> = [
  { key: 'clusterSecret', fileKey: 'clusterSecretFile', flag: '--cluster-secret', minBytes: MIN_SECRET_BYTES },
  {
    key: 'serverKey',
    fileKey: 'serverKeyFile',
    flag: '--server-key',
    minBytes: MIN_SECRET_BYTES,
    make: '`baton server-key --id ID --cluster-secret-file secret > key` and --server-key-file key',
  },
  { key: 'streamKeySecret', fileKey: 'streamKeySecretFile', flag: '--stream-key-secret', minBytes: MIN_SECRET_BYTES },
  { key: 'operatorToken', fileKey: 'operatorTokenFile', flag: '--operator-token', minBytes: MIN_SECRET_BYTES },
];

/**
 * For each secret `cmd` has: read `--x-file` into `--x` (one of the two, not both), then refuse a
 * value shorter than its minimum with a message naming the option. Calls `cmd.error` (exits).
 */
export function resolveSecrets(cmd: Command): void {
  for (const s of SECRET_OPTIONS) {
    const file = cmd.getOptionValue(s.fileKey) as string | undefined;
    if (file !== undefined) {
      if (cmd.getOptionValue(s.key) !== undefined) cmd.error(`error: give ${s.flag} or ${s.flag}-file, not both`);
      cmd.setOptionValueWithSource(s.key, readSecretFile(cmd, s.flag, file), 'config');
    }
    const value = cmd.getOptionValue(s.key) as string | undefined;
    if (value !== undefined && Buffer.byteLength(value) < s.minBytes) {
      cmd.error(
        `error: ${s.flag} must be at least ${s.minBytes} bytes (got ${Buffer.byteLength(value)}); e.g. ${s.make ?? `\`openssl rand -base64 24 > secret\` and ${s.flag}-file secret`}`,
      );
    }
  }
}

function readSecretFile(cmd: Command, flag: string, file: string): string {
  try {
    // Bounded as it is read (a device or a FIFO has no size to check first). A trailing newline is what editors and
    // `echo` add: it is not part of the secret.
    return readBoundedFile(file, MAX_SECRET_FILE_BYTES).replace(/\r?\n$/, '');
  } catch (err) {
    return cmd.error(`error: ${flag}-file ${file}: ${(err as Error).message}`);
  }
}
