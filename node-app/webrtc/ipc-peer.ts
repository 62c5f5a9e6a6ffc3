// A raw simple-peer in a child process, signalled over IPC: a far end for benchmarks and tests.
import { fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { createPeer, type Peer } from './peer.js';

/** How often a sink reports its byte count to the parent. */
const PROGRESS_INTERVAL_MS = 50;

/**
 * `sink` receives: it counts binary bytes and hashes them (after skipping `skipBytes`
 * of each message, e.g. a frame header; `hash: false` skips hashing), and forwards text
 * messages to the parent, each right after a byte count that includes everything before it.
 * `source` sends `totalBytes` in `chunkBytes` messages as fast as backpressure allows.
 */
export type IpcPeerMode =
  | { mode: 'sink'; initiator: boolean; skipBytes?: number; sendOnConnect?: string[]; hash?: boolean }
  | { mode: 'source'; initiator: boolean; totalBytes: number; chunkBytes: number };

export type ParentToChild = { type: 'signal'; data: unknown } | { type: 'send'; text: string } | { type: 'close' };
export type ChildToParent =
  | { type: 'signal'; data: unknown }
  | { type: 'connect' }
  | { type: 'progress'; bytes: number; sha256: string }
  | { type: 'text'; text: string }
  | { type: 'sent'; bytes: number; ms: number }
  | { type: 'closed'; error?: string };

export interface IpcPeer {
  child: ChildProcess;
  /** Relay one of our signals to the child's peer. */
  signal(data: unknown): void;
  send(text: string): void;
  on(listener: (msg: ChildToParent) => void): void;
  /** Kill the child (idempotent); resolves when it has exited. */
  kill(): Promise<void>;
}

/** Starts a child process running one peer; wire `on('signal')` and `signal()` to the other side. */
export function spawnIpcPeer(mode: IpcPeerMode): IpcPeer {
  const child = fork(fileURLToPath(import.meta.url), ['--ipc-peer', JSON.stringify(mode)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const post = (m: ParentToChild) => {
    if (child.connected) child.send(m);
  };
  return {
    child,
    signal: (data) => post({ type: 'signal', data }),
    send: (text) => post({ type: 'send', text }),
    on: (listener) => child.on('message', (m) => listener(m as ChildToParent)),
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGCONT');
        child.kill('SIGKILL');
      }
      await exited;
    },
  };
}

function runChild(mode: IpcPeerMode): void {
  const up = (m: ChildToParent) => process.send?.(m);
  const peer: Peer = createPeer({ initiator: mode.initiator });
  peer.on('signal', (data: unknown) => up({ type: 'signal', data }));
  peer.on('error', (err: Error) => up({ type: 'closed', error: err.message }));
  peer.on('close', () => {
    up({ type: 'closed' });
    setTimeout(() => process.exit(0), 100);
  });
  process.on('message', (m: ParentToChild) => {
    if (m.type === 'signal') peer.signal(m.data as Parameters<Peer['signal']>[0]);
    else if (m.type === 'send') peer.send(m.text);
    else if (m.type === 'close') peer.destroy();
  });
  process.on('disconnect', () => process.exit(0));

  if (mode.mode === 'sink') {
    const hash = mode.hash === false ? null : createHash('sha256');
    let bytes = 0;
    let reported = -1;
    const report = () => {
      if (bytes === reported) return;
      reported = bytes;
      up({ type: 'progress', bytes, sha256: hash ? hash.copy().digest('hex') : '' });
    };
    setInterval(report, PROGRESS_INTERVAL_MS).unref();
    peer.on('data', (d: Uint8Array | string) => {
      if (typeof d === 'string') {
        // Report the count first so the parent sees every byte that preceded this text.
        report();
        up({ type: 'text', text: d });
        return;
      }
      const payload = d.subarray(Math.min(d.byteLength, mode.skipBytes ?? 0));
      hash?.update(payload);
      bytes += payload.byteLength;
    });
    peer.on('connect', () => {
      up({ type: 'connect' });
      for (const text of mode.sendOnConnect ?? []) peer.send(text);
    });
  } else {
    peer.on('connect', async () => {
      up({ type: 'connect' });
      const chunk = new Uint8Array(mode.chunkBytes).fill(0x5a);
      const t0 = performance.now();
      let sent = 0;
      while (sent < mode.totalBytes && !peer.destroyed) {
        await new Promise<void>((done, fail) => peer.write(chunk, (err?: Error | null) => (err ? fail(err) : done())));
        sent += chunk.byteLength;
      }
      up({ type: 'sent', bytes: sent, ms: performance.now() - t0 });
    });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const i = process.argv.indexOf('--ipc-peer');
  runChild(JSON.parse(process.argv[i + 1] ?? '{}') as IpcPeerMode);
}
