// The scripts the seek bench puts into Chromium pages: the seek-to-frame probe, and the plain HTTP range player it is measured against.

/**
 * Defines `window.__seekFrame(video, t)`: sets currentTime and resolves with the ms until the first
 * frame at or after `t` is presented (requestVideoFrameCallback). Plain JavaScript: see ttff.ts.
 */
export const SEEK_PROBE = `const appends = [];
const answers = [];
// Baton: when the server's answer to a seek (the meta naming seekMs) arrives on the data channel.
const PC = window.RTCPeerConnection;
window.RTCPeerConnection = function (...args) {
  const pc = new PC(...args);
  const createDataChannel = pc.createDataChannel.bind(pc);
  pc.createDataChannel = (...a) => {
    const ch = createDataChannel(...a);
    ch.addEventListener('message', (e) => { if (typeof e.data === 'string' && e.data.includes('"seekMs"')) answers.push(performance.now()); });
    return ch;
  };
  return pc;
};
window.RTCPeerConnection.prototype = PC.prototype;
const append = SourceBuffer.prototype.appendBuffer;
SourceBuffer.prototype.appendBuffer = function (data) {
  appends.push(performance.now());
  return append.call(this, data);
};
window.__seekFrame = (v, t, before) => new Promise((resolve) => {
  const t0 = performance.now();
  const onFrame = (now, meta) => {
    // The first append after the seek carries the new position's bytes (both players drop what they had queued).
    const firstAppend = appends.find((a) => a > t0);
    const answer = answers.find((a) => a > t0);
    if (meta.mediaTime >= t - 0.1 && meta.mediaTime < t + 2) resolve({ ms: (meta.presentationTime || now) - t0, appendMs: firstAppend === undefined ? null : firstAppend - t0, answerMs: answer === undefined ? null : answer - t0, mediaTime: meta.mediaTime });
    else v.requestVideoFrameCallback(onFrame);
  };
  v.requestVideoFrameCallback(onFrame);
  Promise.resolve(before ? before(t) : undefined).then(() => { v.currentTime = t; });
});`;

/**
 * The HTTP baseline page: a video fed by fetch → MSE from byte 0, and `window.__httpSeek(t, offset)`
 * that does what a plain HTTP WebM player does (its Cues read up front, here given by the bench):
 * stop the download, reset the SourceBuffer, and stream `Range: bytes=offset-` into it.
 */
export function httpPageScript(arg: { url: string; mime: string; path: string }): string {
  return `(() => {
  const arg = ${JSON.stringify(arg)};
  if (location.pathname !== arg.path) return;
  const v = document.createElement('video');
  v.muted = true; v.autoplay = true; v.playsInline = true;
  window.__video = v;
  const ms = new MediaSource();
  const opened = new Promise((resolve) => ms.addEventListener('sourceopen', () => resolve(), { once: true }));
  v.src = URL.createObjectURL(ms);
  document.addEventListener('DOMContentLoaded', () => document.body.append(v), { once: true });
  let sb;
  let ctrl;
  const idle = () => (sb.updating ? new Promise((r) => sb.addEventListener('updateend', r, { once: true })) : Promise.resolve());
  const stream = async (from) => {
    const c = (ctrl = new AbortController());
    const res = await fetch(arg.url, { headers: from ? { range: 'bytes=' + from + '-' } : {}, signal: c.signal });
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done || c.signal.aborted) break;
      await idle();
      if (c.signal.aborted) break;
      sb.appendBuffer(value);
      await idle();
      if (v.paused) v.play().catch(() => undefined);
    }
  };
  (async () => {
    await opened;
    sb = ms.addSourceBuffer(arg.mime);
    stream(0).catch(() => undefined);
  })();
  window.__httpSeek = async (offset) => {
    ctrl.abort();
    await idle();
    sb.abort();
    if (sb.buffered.length) { sb.remove(0, Infinity); await idle(); }
    stream(offset).catch(() => undefined);
  };
})();`;
}

/** What the page scripts define on `window`. */
export interface Probe {
  __seekFrame(
    v: HTMLVideoElement,
    t: number,
    before?: (t: number) => Promise<void>,
  ): Promise<{ ms: number; appendMs: number | null; answerMs: number | null; mediaTime: number }>;
  __httpSeek(offset: number): Promise<void>;
  __video: HTMLVideoElement;
}
