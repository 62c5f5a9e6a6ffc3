// Viewers in a child process (like browser tabs): each has its own hub connection and
// WebRTC peer, and reports to the parent over IPC, so a test can SIGSTOP or SIGKILL them all.
import { fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { io } from 'socket.io-client';
import { Viewer, type ViewerSocket } from '../../../client-sdk/viewer.js';
import { SimplePeer, nodeWrtc } from '../../../node-app/webrtc/peer.js';

/** How often each viewer's byte count is reported while it grows. */
const PROGRESS_INTERVAL_MS = 50;

export interface SwarmOptions {
  hubUrl: string;
  assetId: string;
  count: number;
  fast?: boolean;
}

export type SwarmEvent =
  | { type: 'selected'; i: number; server: string; sessionId: string }
  | { type: 'progress'; i: number; bytes: number }
  | { type: 'warning'; i: number; code: string; message: string }
  | { type: 'hub-session-close'; i: number; sessionId: string; reason: string }
  | { type: 'end'; i: number; bytes: number; sha256: string }
  | { type: 'error'; i: number; code: string; message: string };

export interface Swarm {
  child: ChildProcess;
  readonly events: SwarmEvent[];
  /** Latest byte count per viewer. */
  readonly bytes: number[];
  on(listener: (e: SwarmEvent) => void): void;
  signal(sig: NodeJS.Signals): void;
  /** SIGKILL (idempotent); resolves when the process is gone. */
  kill(): Promise<void>;
  exited: Promise<void>;
}

/** Starts `count` viewers of one asset in a new process. */
export function spawnSwarm(opts: SwarmOptions): Swarm {
  const child = fork(fileURLToPath(import.meta.url), ['--viewer-swarm', JSON.stringify(opts)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const events: SwarmEvent[] = [];
  const bytes = new Array<number>(opts.count).fill(0);
  const listeners: ((e: SwarmEvent) => void)[] = [];
  child.on('message', (m) => {
    const e = m as SwarmEvent;
    if (e.type === 'progress') bytes[e.i] = e.bytes;
    else events.push(e);
    for (const l of listeners) l(e);
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    child,
    events,
    bytes,
    on: (l) => void listeners.push(l),
    signal: (sig) => {
      if (running()) child.kill(sig);
    },
    kill: async () => {
      if (running()) child.kill('SIGKILL');
      await exited;
    },
    exited,
  };
}

function runSwarm(opts: SwarmOptions): void {
  const up = (e: SwarmEvent) => process.send?.(e);
  for (let i = 0; i < opts.count; i++) {
    const socket = io(`${opts.hubUrl}/client`, { transports: ['websocket'], reconnection: false, forceNew: true });
    const viewer = new Viewer({
      socket: socket as unknown as ViewerSocket,
      assetId: opts.assetId,
      SimplePeer,
      wrtc: nodeWrtc,
      fast: opts.fast,
    });
    const hash = createHash('sha256');
    let reported = 0;
    socket.on('session-close', (m: { sessionId: string; reason: string }) =>
      up({ type: 'hub-session-close', i, sessionId: m.sessionId, reason: m.reason }),
    );
    viewer.addEventListener('selected', (e) => up({ type: 'selected', i, server: e.detail.server.id, sessionId: e.detail.sessionId }));
    viewer.addEventListener('data', (e) => hash.update(e.detail.bytes));
    viewer.addEventListener('warning', (e) => up({ type: 'warning', i, ...e.detail }));
    viewer.addEventListener('error', (e) => up({ type: 'error', i, ...e.detail }));
    viewer.addEventListener('end', (e) => {
      up({ type: 'progress', i, bytes: viewer.bytesReceived });
      up({ type: 'end', i, bytes: e.detail.bytes, sha256: hash.digest('hex') });
      viewer.close();
      socket.close();
    });
    setInterval(() => {
      if (viewer.bytesReceived === reported) return;
      reported = viewer.bytesReceived;
      up({ type: 'progress', i, bytes: reported });
    }, PROGRESS_INTERVAL_MS);
    socket.once('connect', () => viewer.start());
  }
  process.on('disconnect', () => process.exit(0));
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const i = process.argv.indexOf('--viewer-swarm');
  runSwarm(JSON.parse(process.argv[i + 1] ?? '{}') as SwarmOptions);
}
