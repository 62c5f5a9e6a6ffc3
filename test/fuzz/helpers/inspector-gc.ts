// Full garbage collection in another Node process through its inspector (started with
// --inspect=127.0.0.1:0), so a memory figure measures what is kept, not what is not yet freed.
import { createRequire } from 'node:module';

type WsLike = {
  on(e: string, f: (...a: any[]) => void): void;
  once(e: string, f: (...a: any[]) => void): void;
  send(s: string): void;
  close(): void;
};
const WebSocket = createRequire(import.meta.url)('ws') as new (url: string) => WsLike;

/** The inspector's WebSocket URL from a process's output ("Debugger listening on ws://…"). */
export function inspectorUrl(output: string): string {
  const m = /Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/[\w-]+)/.exec(output);
  if (!m) throw new Error('the process has no inspector on loopback (start it with --inspect=127.0.0.1:0)');
  return m[1]!;
}

/** Runs HeapProfiler.collectGarbage twice (the second frees what the first finalised). */
export async function collectGarbage(url: string): Promise<void> {
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let id = 0;
  const call = (method: string) =>
    new Promise<void>((resolve) => {
      const my = ++id;
      const onMessage = (data: unknown) => {
        if ((JSON.parse(String(data)) as { id?: number }).id === my) resolve();
      };
      ws.on('message', onMessage);
      ws.send(JSON.stringify({ id: my, method }));
    });
  await call('HeapProfiler.collectGarbage');
  await call('HeapProfiler.collectGarbage');
  ws.close();
}
