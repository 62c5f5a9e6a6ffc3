// Full garbage collection in another Node process through its V8 inspector, so a memory figure
// measures what is still reachable, not wherever the collector happened to be. The process must be
// started with INSPECT_ENV (--inspect=127.0.0.1:0); it prints the inspector's address on stderr.
import WebSocket from 'ws';

export const INSPECT_ENV = { NODE_OPTIONS: '--inspect=127.0.0.1:0' };

/** The inspector's WebSocket URL from a process's output ("Debugger listening on ws://…"). */
export function inspectorUrl(output: string): string {
  const m = /Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/[\w-]+)/.exec(output);
  if (!m) throw new Error('the process has no inspector on loopback (start it with INSPECT_ENV)');
  return m[1]!;
}

/** Runs HeapProfiler.collectGarbage twice (the second frees what the first finalised). */
export async function collectGarbage(url: string): Promise<void> {
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  try {
    for (let id = 1; id <= 2; id++) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('HeapProfiler.collectGarbage: no answer in 10 s')), 10_000);
        const onMessage = (data: WebSocket.RawData) => {
          if ((JSON.parse(String(data)) as { id?: number }).id !== id) return;
          clearTimeout(timer);
          ws.off('message', onMessage);
          resolve();
        };
        ws.on('message', onMessage);
        ws.send(JSON.stringify({ id, method: 'HeapProfiler.collectGarbage' }));
      });
    }
  } finally {
    ws.close();
  }
}
