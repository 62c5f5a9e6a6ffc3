// What the watch page's first module carries: socket.io, the peer and the watch asked ahead, not zod or the wire
// schemas, which load in a chunk of their own while the socket opens (the first module's size is on the path to the first frame).
import { join } from 'node:path';
import { build, type Rolldown } from 'vite';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../e2e/helpers/browser.js';

/** The ids of the modules `vite build` puts in the entry chunk. */
async function entryModules(): Promise<string[]> {
  const out = await build({
    configFile: join(ROOT, 'vite.config.ts'),
    root: join(ROOT, 'web-client'),
    logLevel: 'warn',
    build: { write: false },
  });
  const outputs = (Array.isArray(out) ? out : [out]) as Rolldown.RolldownOutput[];
  const entry = outputs.flatMap((o) => o.output).find((c): c is Rolldown.OutputChunk => c.type === 'chunk' && c.isEntry);
  if (!entry) throw new Error('no entry chunk');
  return Object.keys(entry.modules);
}

describe('the web client entry chunk', () => {
  it('holds the socket, the peer and the watch asked ahead, but not zod or the frame and message schemas', async () => {
    const modules = await entryModules();
    const has = (part: string) => modules.some((m) => m.includes(part));
    expect(has('web-client/components/client-socket.ts')).toBe(true);
    expect(has('client-sdk/watch-ahead.ts')).toBe(true);
    expect(has('node_modules/zod/')).toBe(false);
    expect(has('signaling/protocol/frames.ts')).toBe(false);
    expect(has('signaling/protocol/messages.ts')).toBe(false);
  }, 60_000);
});
