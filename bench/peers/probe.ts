// Runs in every viewer page before its own scripts (bundled by pages.ts, added as an init script): marks
// the first video frame presented, and with `window.__peerProbe.clock` reads the wall clock drawn into
// each presented frame, so every peer's figures come from the same code in the same browser.
import { clockRegion, readClock } from './clock.js';

export interface ProbeState {
  /** navigation start → first frame presented (ms, performance.now() time base). */
  frame?: number;
  /** Per presented frame: viewer wall clock − the clock in the frame (ms). */
  latencies: number[];
  /** Frames whose clock did not read (a damaged or clock-less frame). */
  misreads: number;
  /** Per presented frame of an MSE player (Baton, hls.js, HTTP): media buffered ahead of the playhead (ms) — its share of the latency. */
  aheadMs: number[];
  error?: string;
}

interface ProbeWindow {
  __peer: ProbeState;
  __peerProbe?: { clock?: boolean };
}

const w = window as unknown as ProbeWindow;
const state: ProbeState = (w.__peer = { latencies: [], misreads: 0, aheadMs: [] });
const readClocks = w.__peerProbe?.clock === true;
const canvas = document.createElement('canvas');
const ctx = canvas.getContext('2d', { willReadFrequently: true });

function watch(v: HTMLVideoElement): void {
  const onFrame = (now: number, meta: VideoFrameCallbackMetadata) => {
    state.frame ??= meta.presentationTime ?? now;
    if (readClocks && ctx && v.videoWidth > 0) {
      // Only the clock's corner, at the video's own size: cheap enough for every frame.
      const r = clockRegion(v.videoWidth);
      canvas.width = r.width;
      canvas.height = r.height;
      ctx.drawImage(v, 0, 0, r.width, r.height, 0, 0, r.width, r.height);
      const img = ctx.getImageData(0, 0, r.width, r.height);
      const wall = performance.timeOrigin + now;
      const t = readClock({ data: img.data, width: v.videoWidth, height: r.height, channels: 4, stride: r.width * 4 }, wall);
      if (t === null) state.misreads++;
      else state.latencies.push(wall - t);
      const b = v.buffered;
      if (!v.srcObject && b.length > 0) state.aheadMs.push((b.end(b.length - 1) - v.currentTime) * 1000);
    }
    v.requestVideoFrameCallback(onFrame);
  };
  v.requestVideoFrameCallback(onFrame);
}

// Every <video> any page makes (the Baton player's is in its shadow root) goes through createElement.
const create = Document.prototype.createElement;
Document.prototype.createElement = function (this: Document, tag: string, options?: ElementCreationOptions) {
  const el = create.call(this, tag, options);
  if (typeof tag === 'string' && tag.toLowerCase() === 'video') watch(el as HTMLVideoElement);
  return el;
} as typeof Document.prototype.createElement;
addEventListener('error', (e) => (state.error ??= String(e.message)));
