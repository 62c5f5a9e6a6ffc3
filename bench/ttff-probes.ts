// The in-page probes of the time-to-first-frame bench: scripts that mark when the first frame shows, and the wait for it.
import type { Page } from 'playwright-core';

/** The moments a probe marks (ms since navigation start), or the error it met. */
export interface Probe {
  frame?: number;
  socketStart?: number;
  socketOpen?: number;
  /** engine.io's open packet (the hub's first message). */
  eioOpen?: number;
  /** The hub admitted the `/client` namespace: the socket can carry the watch. */
  nsConnect?: number;
  /** The watch reply carried the server's answer (the fast path) … */
  replyAnswer?: number;
  /** … or the answer came later through the hub's relay (the server took longer than its ack wait, or no offer went). */
  relayAnswer?: number;
  watchSent?: number;
  selected?: number;
  answer?: number;
  iceConnected?: number;
  dtlsConnected?: number;
  peer?: number;
  offer?: number;
  channelOpen?: number;
  firstData?: number;
  firstAppend?: number;
  playing?: number;
  appReady?: number;
  fetch?: number;
  firstByte?: number;
  /** The click that started the playback (the click figures). */
  click?: number;
  error?: string;
}

// The probes are plain JavaScript text: a TypeScript function would be serialised after tsx
// compiled it, and its helpers (e.g. esbuild's `__name`) do not exist in the page.

/** Runs at document creation: marks the first frame and `playing` of every <video> the page creates. */
export const BATON_PROBE = `(() => {
  const t = (window.__ttff = {});
  const create = Document.prototype.createElement;
  Document.prototype.createElement = function (tag, options) {
    const el = create.call(this, tag, options);
    if (typeof tag === 'string' && tag.toLowerCase() === 'video') {
      el.addEventListener('playing', () => (t.playing ??= performance.now()), { once: true });
      el.requestVideoFrameCallback((now, meta) => (t.frame ??= meta.presentationTime ?? now));
    }
    return el;
  };
  customElements.whenDefined('baton-player').then(() => (t.appReady ??= performance.now()));
  // Where the time goes: the hub connection, the WebRTC session, the first media bytes, the first append.
  // The client talks to the hub over a WebSocket (transports: ['websocket']): time its open.
  const WS = window.WebSocket;
  window.WebSocket = class extends WS {
    constructor(url, protocols) {
      super(url, protocols);
      if (String(url).includes('/socket.io/')) {
        t.socketStart ??= performance.now();
        this.addEventListener('open', () => (t.socketOpen ??= performance.now()), { once: true });
        // socket.io text packets: the watch request (an event with an ack id) and the hub's answer to it.
        this.addEventListener('message', (e) => {
          if (typeof e.data === 'string' && /^43\\/client,\\d+\\[\\{"ok":true,"sessionId"/.test(e.data)) t.selected ??= performance.now();
          if (typeof e.data === 'string' && /^43\\/client,\\d+\\[\\{"ok":true,"sessionId"/.test(e.data) && e.data.includes('"answer":')) t.replyAnswer ??= performance.now();
          if (typeof e.data === 'string' && /^42\\/client,\\["signal"/.test(e.data) && e.data.includes('"type":"answer"')) t.relayAnswer ??= performance.now();
          if (typeof e.data === 'string' && e.data.startsWith('0{')) t.eioOpen ??= performance.now();
          if (typeof e.data === 'string' && e.data.startsWith('40/client,')) t.nsConnect ??= performance.now();
        });
        const send = this.send.bind(this);
        this.send = (data) => {
          if (typeof data === 'string' && /^42\\/client,\\d+\\["watch"/.test(data)) t.watchSent ??= performance.now();
          return send(data);
        };
      }
    }
  };
  const PC = window.RTCPeerConnection;
  window.RTCPeerConnection = function (...args) {
    t.peer ??= performance.now();
    const pc = new PC(...args);
    const setLocal = pc.setLocalDescription.bind(pc);
    pc.setLocalDescription = (d) => setLocal(d).then((r) => {
      t.offer ??= performance.now();
      return r;
    });
    const setRemote = pc.setRemoteDescription.bind(pc);
    pc.setRemoteDescription = (d) => {
      t.answer ??= performance.now();
      return setRemote(d);
    };
    pc.addEventListener('iceconnectionstatechange', () => {
      if (pc.iceConnectionState === 'connected') t.iceConnected ??= performance.now();
    });
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'connected') t.dtlsConnected ??= performance.now();
    });
    const createDataChannel = pc.createDataChannel.bind(pc);
    pc.createDataChannel = (...a) => {
      const ch = createDataChannel(...a);
      ch.addEventListener('open', () => (t.channelOpen ??= performance.now()), { once: true });
      ch.addEventListener('message', () => (t.firstData ??= performance.now()), { once: true });
      return ch;
    };
    return pc;
  };
  window.RTCPeerConnection.prototype = PC.prototype;
  const append = SourceBuffer.prototype.appendBuffer;
  SourceBuffer.prototype.appendBuffer = function (data) {
    t.firstAppend ??= performance.now();
    return append.call(this, data);
  };
})();`;

/**
 * The HTTP page's player: fetch → MSE → <video>, marking the same moments. `on: 'load'` starts it at document creation
 * (the navigation figures); `on: 'click'` at the page's first click, its time marked as `click` (the click figures).
 */
export function httpProbe(arg: { url: string; mime: string; path: string; on?: 'load' | 'click' }): string {
  return `(() => {
  const arg = ${JSON.stringify(arg)};
  if (location.pathname !== arg.path) return;
  const t = (window.__ttff = {});
  const play = () => {
    const v = document.createElement('video');
    v.muted = true;
    v.autoplay = true;
    v.playsInline = true;
    v.addEventListener('playing', () => (t.playing ??= performance.now()), { once: true });
    v.requestVideoFrameCallback((now, meta) => (t.frame ??= meta.presentationTime ?? now));
    const ms = new MediaSource();
    const opened = new Promise((resolve) => ms.addEventListener('sourceopen', () => resolve(), { once: true }));
    v.src = URL.createObjectURL(ms);
    if (document.body) document.body.append(v);
    else document.addEventListener('DOMContentLoaded', () => document.body.append(v), { once: true });
    // The request starts at once, in parallel with MediaSource setup, as a tuned HTTP player would.
    t.fetch = performance.now();
    const response = fetch(arg.url);
    (async () => {
      const res = await response;
      if (!res.ok || !res.body) throw new Error('HTTP ' + res.status);
      await opened;
      const sb = ms.addSourceBuffer(arg.mime);
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        t.firstByte ??= performance.now();
        sb.appendBuffer(value);
        await new Promise((resolve) => sb.addEventListener('updateend', resolve, { once: true }));
        if (v.paused) v.play().catch(() => undefined);
      }
      ms.endOfStream();
    })().catch((err) => (t.error = String(err && err.message || err)));
  };
  if (arg.on === 'click') {
    document.addEventListener('click', (e) => {
      t.click = e.timeStamp;
      play();
    }, { once: true, capture: true });
  } else play();
})();`;
}

/** Marks the time of the page's first click (`click`, on the probe's clock), before any of the page's own handlers run. */
export const CLICK_PROBE = `document.addEventListener('click', (e) => ((window.__ttff ??= {}).click ??= e.timeStamp), { capture: true });`;

/** Waits (up to `timeoutMs`) for the probe's first frame; throws what the page reported if it failed. */
export async function waitForFrame(page: Page, timeoutMs: number): Promise<Probe> {
  const handle = await page.waitForFunction(
    () => {
      const t = (window as unknown as { __ttff?: Probe }).__ttff;
      return t && (t.frame !== undefined || t.error !== undefined) ? t : undefined;
    },
    undefined,
    { timeout: timeoutMs, polling: 50 },
  );
  const t = (await handle.jsonValue()) as Probe;
  if (t.error !== undefined) throw new Error(t.error);
  return t;
}
