// An asset's sidecar JSON (`<id>.json` beside `<id>.webm`): its title and description, read on the
// storage scan, size-bounded and validated; a bad sidecar is reported and the asset listed without it.
import { constants } from 'node:fs';
import { open, rename, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { descriptionSchema, parse, titleSchema } from '../../signaling/protocol/index.js';

/** File extension of sidecars. */
export const SIDECAR_EXTENSION = '.json';
/** A sidecar larger than this is refused unread (a 2,000-character description is ≤ 8 KB in UTF-8). */
export const MAX_SIDECAR_BYTES = 16 * 1024;

export const sidecarSchema = z.strictObject({
  title: titleSchema.optional(),
  description: descriptionSchema.optional(),
});

export type Sidecar = z.infer<typeof sidecarSchema>;

export type SidecarResult = { ok: true; meta: Sidecar } | { ok: false; message: string };

/** Parses a sidecar's bytes: UTF-8 JSON, an object with `title` and/or `description` and nothing else. */
export function parseSidecar(bytes: Uint8Array): SidecarResult {
  if (bytes.byteLength > MAX_SIDECAR_BYTES) return { ok: false, message: `larger than ${MAX_SIDECAR_BYTES} bytes` };
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    return { ok: false, message: `not UTF-8 JSON (${(err as Error).message})` };
  }
  const p = parse(sidecarSchema, value);
  if (!p.ok) return { ok: false, message: p.message };
  const meta: Sidecar = {};
  // A blank description says nothing: leave it out rather than show an empty paragraph.
  if (p.value.title) meta.title = p.value.title;
  if (p.value.description) meta.description = p.value.description;
  return { ok: true, meta };
}

/**
 * Reads and parses the sidecar at `path` (never following a symlink, never reading past the bound).
 * Undefined when there is none.
 */
export async function readSidecar(path: string): Promise<SidecarResult | undefined> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    return { ok: false, message: `cannot open: ${code ?? (err as Error).message}` };
  }
  try {
    const s = await fh.stat();
    if (!s.isFile()) return { ok: false, message: 'not a regular file' };
    if (s.size > MAX_SIDECAR_BYTES) return { ok: false, message: `larger than ${MAX_SIDECAR_BYTES} bytes (${s.size})` };
    const buf = new Uint8Array(MAX_SIDECAR_BYTES + 1);
    let filled = 0;
    while (filled < buf.byteLength) {
      const { bytesRead } = await fh.read(buf, filled, buf.byteLength - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return parseSidecar(buf.subarray(0, filled));
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** Writes a sidecar atomically (a temporary file renamed over it): a scan never reads half of one. */
export async function writeSidecar(path: string, meta: Sidecar): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(meta, null, 2)}\n`, { mode: 0o644 });
  await rename(tmp, path);
}
