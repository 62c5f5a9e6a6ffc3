// The broadcaster's async work: the /client socket, the captured source, the MediaRecorder and one Publisher.
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import SimplePeer from 'simple-peer/simplepeer.min.js';
import { ASSET_ID_PATTERN } from '../../signaling/protocol/ids.js';
import type { IngestChoice, PublishReply, PublishRequest } from '../../signaling/protocol/messages.js';
import type { Place } from '../../signaling/protocol/types.js';
import { Publisher, PublishError, type PublishResult, type UploadInfo } from '../../client-sdk/publisher.js';
import { CaptureError, SourceCapture, type Problem, type SourceKind } from './broadcast-source.js';
import { ACK_TIMEOUT_MS, connectClient, iceServers, type ClientSocket } from './hub-socket.js';

export type { Problem, SourceInfo, SourceKind, SourceState } from './broadcast-source.js';

/** MediaRecorder timeslice: each chunk holds this much media, so a chunk reaches the servers this soon (ms). */
export const RECORDER_TIMESLICE_MS = 200;
/**
 * Keyframe spacing asked of the encoder (ms). A viewer joining a live stream
 * starts at a Cluster boundary, and Chrome's muxer opens a Cluster at each
 * keyframe: this bounds how long a late joiner waits for a picture.
 */
export const KEYFRAME_INTERVAL_MS = 2_000;
/** Video bitrate asked of the encoder: sharp 720p for a camera or a screen, at about 1 MB per 3 s (bits/s). */
export const VIDEO_BITRATE_BPS = 2_500_000;
export const AUDIO_BITRATE_BPS = 128_000;
/** Share of the servers' bitrate quota the encoder may use, leaving room for its overshoot. */
const QUOTA_HEADROOM = 0.8;
/** How often rates and the elapsed time are refreshed on screen (ms). */
const STATUS_TICK_MS = 500;
/** Upload rates are averaged over this window (ms). */
const RATE_WINDOW_MS = 2_000;
/** Failover and warning notices kept on screen. */
const MAX_NOTICES = 6;
/** Device geolocation gives up after this long (ms). */
const GEOLOCATION_TIMEOUT_MS = 15_000;

/**
 * `idle` (not broadcasting), `starting` (asking for entry servers and connecting),
 * `live` (recording and uploading), `ending` (last chunks out, servers finalizing),
 * `ended` (the copies are stored, or the broadcast failed: see `problem`).
 */
export type BroadcastPhase = 'idle' | 'starting' | 'live' | 'ending' | 'ended';
export type HubState = 'connecting' | 'connected' | 'offline';

/** A recorder output type and the MSE type string viewers will play it with. */
interface RecorderType {
  recorder: string;
  mse: string;
  audio: boolean;
}

/** VP8 first: the cheapest to encode in real time and decodable everywhere; VP9 when VP8 is missing. */
const RECORDER_TYPES: readonly RecorderType[] = [
  { recorder: 'video/webm;codecs=vp8,opus', mse: 'video/webm; codecs="vp8, opus"', audio: true },
  { recorder: 'video/webm;codecs=vp9,opus', mse: 'video/webm; codecs="vp9, opus"', audio: true },
  { recorder: 'video/webm;codecs=vp8', mse: 'video/webm; codecs="vp8"', audio: false },
  { recorder: 'video/webm;codecs=vp9', mse: 'video/webm; codecs="vp9"', audio: false },
];

export interface Notice {
  kind: 'failover' | 'warning';
  text: string;
  atMs: number;
}

/** Where the broadcaster says they are: typed text, or coordinates from the device. */
export type LocationInput = { kind: 'text'; text: string } | { kind: 'device'; lat: number; lon: number; accuracyM: number };

export interface GoLiveOptions {
  streamKey: string;
  location: LocationInput;
  /** Desired stream id; the hub names the stream when empty. */
  streamId?: string;
}

export interface BroadcastStatus {
  phase: BroadcastPhase;
  streamId: string | null;
  /** The MSE type of the stream being recorded. */
  mime: string | null;
  /** The first assignment: primary and backup with their estimates. */
  assignment: PublishReply | null;
  /** Every entry server assigned so far (replacements included), by server id. */
  choices: Record<string, IngestChoice>;
  uploads: UploadInfo[];
  /** Stream bytes recorded and handed to the publisher. */
  bytes: number;
  /** Bytes put on every channel together (both copies, framing, resends). */
  wireBytes: number;
  /** Bytes held for resending. */
  bufferedBytes: number;
  /** The stream's own bitrate (recorder output), bits/s over the last RATE_WINDOW_MS. */
  streamBps: number | null;
  /** What leaves this browser for all servers together, bits/s. */
  uploadBps: number | null;
  /** `performance.now()` when recording started. */
  startedAt: number | null;
  elapsedMs: number;
  notices: Notice[];
  result: PublishResult | null;
  problem: Problem | null;
}

function idleStatus(): BroadcastStatus {
  return {
    phase: 'idle',
    streamId: null,
    mime: null,
    assignment: null,
    choices: {},
    uploads: [],
    bytes: 0,
    wireBytes: 0,
    bufferedBytes: 0,
    streamBps: null,
    uploadBps: null,
    startedAt: null,
    elapsedMs: 0,
    notices: [],
    result: null,
    problem: null,
  };
}

/**
 * Owns the source capture (with the preview `<video>` the component renders),
 * the MediaRecorder and the Publisher. Leaving the page ends a broadcast
 * cleanly, so both stored copies are finalized.
 */
export class BroadcastController implements ReactiveController {
  hub: HubState = 'connecting';
  status: BroadcastStatus = idleStatus();
  /** The camera, screen or file, and the preview element the page renders. */
  readonly capture: SourceCapture;

  readonly #host: ReactiveControllerHost;
  #socket: ClientSocket | null = null;
  #recorder: MediaRecorder | null = null;
  #publisher: Publisher | null = null;
  /** Chunks reach the publisher in recording order, whatever order their bytes become readable in. */
  #chain: Promise<void> = Promise.resolve();
  #samples: Array<{ t: number; bytes: number; wire: number }> = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  /** The running `stop()`, so leaving the page mid-finalize waits for it. */
  #stopping: Promise<void> | null = null;
  /** Bumped by every goLive and by a cancel: an older goLive that wakes up finds it changed and backs off. */
  #run = 0;

  constructor(host: ReactiveControllerHost) {
    this.#host = host;
    host.addController(this);
    this.capture = new SourceCapture({
      onChange: () => host.requestUpdate(),
      // A shared screen stopped from the browser's bar, or a file that played to its end, ends the broadcast.
      onEnded: (kind) => {
        if (this.status.phase === 'live') void this.stop();
        else if (kind === 'screen') {
          this.capture.release();
          host.requestUpdate();
        }
      },
    });
  }

  get live(): boolean {
    return this.status.phase === 'starting' || this.status.phase === 'live' || this.status.phase === 'ending';
  }

  hostConnected(): void {
    const socket = connectClient();
    this.#socket = socket;
    socket.on('connect', () => this.#setHub('connected'));
    socket.on('disconnect', () => this.#setHub('offline'));
    socket.on('connect_error', () => this.#setHub('offline'));
    this.#timer = setInterval(this.#tick, STATUS_TICK_MS);
    window.addEventListener('beforeunload', this.#onBeforeUnload);
  }

  hostDisconnected(): void {
    clearInterval(this.#timer);
    window.removeEventListener('beforeunload', this.#onBeforeUnload);
    const socket = this.#socket;
    this.#socket = null;
    const finish = () => {
      this.capture.release();
      socket?.removeAllListeners();
      socket?.disconnect();
    };
    // Navigating to another page ends the broadcast the way the button does: both copies get finalized.
    const ending = this.status.phase === 'live' ? this.stop() : this.status.phase === 'ending' ? this.#stopping : null;
    if (ending) void ending.finally(finish);
    else {
      this.#run++;
      this.#publisher?.close();
      this.#publisher = null;
      this.#stopRecorder();
      finish();
    }
  }

  /** Switch the source kind (not while broadcasting). */
  selectSource(kind: SourceKind): Promise<void> {
    return this.live ? Promise.resolve() : this.capture.select(kind);
  }

  useFile(file: File): Promise<void> {
    return this.live ? Promise.resolve() : this.capture.useFile(file);
  }

  // ---- location ----------------------------------------------------------------------------

  /** Gazetteer suggestions for what the user typed (empty when the hub is unreachable). */
  async places(q: string, limit = 8): Promise<Place[]> {
    const socket = this.#socket;
    if (!socket?.connected || !q.trim()) return [];
    try {
      const r = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('places', { q: q.trim(), limit });
      return r.ok ? r.places : [];
    } catch {
      return [];
    }
  }

  /** The device's position from the browser's geolocation (asks for permission). */
  deviceLocation(): Promise<LocationInput & { kind: 'device' }> {
    return new Promise((resolve, reject) => {
      if (!('geolocation' in navigator)) return reject(new CaptureError('no-geolocation', 'This browser cannot tell where the device is. Type a place instead.'));
      navigator.geolocation.getCurrentPosition(
        (pos) => resolve({ kind: 'device', lat: round(pos.coords.latitude, 4), lon: round(pos.coords.longitude, 4), accuracyM: Math.round(pos.coords.accuracy) }),
        (err) => reject(new CaptureError('geolocation', geolocationMessage(err))),
        { enableHighAccuracy: false, timeout: GEOLOCATION_TIMEOUT_MS, maximumAge: 600_000 },
      );
    });
  }

  // ---- broadcast -----------------------------------------------------------------------------

  /** Ask the hub for entry servers, connect to both, then start recording. Problems land in `status.problem`. */
  async goLive(o: GoLiveOptions): Promise<void> {
    if (this.live) return;
    const streamKey = o.streamKey.trim();
    const streamId = o.streamId?.trim() || undefined;
    const check = validate(streamKey, o.location, streamId);
    if (check) return this.#patch({ ...idleStatus(), problem: check });
    const socket = this.#socket;
    if (!socket?.connected) return this.#patch({ ...idleStatus(), problem: { code: 'hub-offline', message: 'The hub is not reachable right now, so no entry server can be assigned.' } });

    const run = ++this.#run;
    this.status = { ...idleStatus(), phase: 'starting' };
    this.#host.requestUpdate();
    const acquired = await this.capture.acquire();
    if (run !== this.#run) return;
    // A capture problem is already explained over the preview.
    if (!acquired) return this.#patch({ phase: 'idle', problem: this.capture.problem ? null : { code: 'no-source', message: 'Pick a source first: choose a video file, or switch to the camera or the screen.', field: 'source' } });
    const stream = this.capture.streamForRecording();
    if (!stream) return this.#patch({ phase: 'idle', problem: { code: 'no-source', message: 'The source has no video to broadcast.', field: 'source' } });
    const type = pickRecorderType(stream.getAudioTracks().length > 0);
    if (!type) return this.#patch({ phase: 'idle', problem: { code: 'unsupported', message: 'This browser cannot record WebM video (VP8 or VP9), which Baton streams.' } });
    const tracks = type.audio ? stream.getTracks() : stream.getVideoTracks();

    const location: PublishRequest['location'] =
      o.location.kind === 'text' ? o.location.text.trim() : { lat: o.location.lat, lon: o.location.lon, label: deviceLabel(o.location) };
    const publisher = new Publisher({
      socket,
      SimplePeer,
      streamKey,
      location,
      ...(streamId ? { streamId } : {}),
      mime: type.mse,
      iceServers,
    });
    this.#publisher = publisher;
    this.#wire(publisher);
    this.#patch({ mime: type.mse });
    try {
      await publisher.start();
    } catch (err) {
      if (this.#publisher !== publisher || run !== this.#run) return;
      this.#publisher = null;
      publisher.close();
      const e = err instanceof PublishError ? err : new PublishError('internal', (err as Error).message);
      return this.#patch({ phase: 'idle', problem: publishProblem(e.code, e.message) });
    }
    if (this.#publisher !== publisher || run !== this.#run) return;

    const quota = publisher.limits?.maxBitrateBps;
    const videoBps = quota ? Math.min(VIDEO_BITRATE_BPS, Math.max(100_000, quota * QUOTA_HEADROOM - AUDIO_BITRATE_BPS)) : VIDEO_BITRATE_BPS;
    let recorder: MediaRecorder;
    try {
      recorder = new MediaRecorder(new MediaStream(tracks), {
        mimeType: type.recorder,
        videoBitsPerSecond: videoBps,
        audioBitsPerSecond: AUDIO_BITRATE_BPS,
        videoKeyFrameIntervalDuration: KEYFRAME_INTERVAL_MS,
      } as MediaRecorderOptions);
    } catch (err) {
      this.#publisher = null;
      publisher.close();
      return this.#patch({ phase: 'idle', problem: { code: 'unsupported', message: `The browser refused to record: ${(err as Error).message}` } });
    }
    this.#recorder = recorder;
    this.#chain = Promise.resolve();
    recorder.addEventListener('dataavailable', (e) => {
      if (e.data.size === 0 || this.#publisher !== publisher) return;
      const blob = e.data;
      this.#chain = this.#chain.then(async () => {
        const bytes = new Uint8Array(await blob.arrayBuffer());
        if (this.#publisher !== publisher || this.status.phase === 'ended') return;
        try {
          publisher.push(bytes);
        } catch {
          // The publisher already failed or finished; its own event says why.
        }
      });
    });
    recorder.addEventListener('error', (e) => {
      if (this.#recorder !== recorder) return;
      const message = (e as Event & { error?: DOMException }).error?.message ?? 'the recorder stopped';
      this.#fail({ code: 'recorder-error', message: `Recording failed: ${message}.` });
    });
    // Every track ended (the camera was unplugged): end the broadcast, keeping what was recorded.
    recorder.addEventListener('stop', () => {
      if (this.#recorder === recorder && this.status.phase === 'live') void this.stop();
    });
    this.capture.rewindFile();
    recorder.start(RECORDER_TIMESLICE_MS);
    this.#samples = [];
    this.#patch({ phase: 'live', startedAt: performance.now(), uploads: publisher.uploads() });
  }

  /** End the broadcast: the last chunks go out and both servers finalize their copies. */
  stop(): Promise<void> {
    if (this.status.phase === 'ending' && this.#stopping) return this.#stopping;
    const run = this.#stop();
    this.#stopping = run;
    void run.finally(() => {
      if (this.#stopping === run) this.#stopping = null;
    });
    return run;
  }

  async #stop(): Promise<void> {
    const publisher = this.#publisher;
    if (this.status.phase === 'starting') {
      // Still asking for servers: nothing was recorded, so nothing needs finalizing.
      this.#run++;
      this.#publisher = null;
      publisher?.close();
      return this.#patch({ phase: 'idle' });
    }
    if (this.status.phase !== 'live' || !publisher) return;
    this.#patch({ phase: 'ending' });
    const recorder = this.#recorder;
    if (recorder && recorder.state !== 'inactive') {
      // The last `dataavailable` comes before `stop`.
      await new Promise<void>((resolve) => {
        recorder.addEventListener('stop', () => resolve(), { once: true });
        recorder.stop();
      });
    }
    this.#recorder = null;
    this.capture.pauseFile();
    await this.#chain;
    if (this.#publisher !== publisher) return;
    try {
      const result = await publisher.end();
      if (this.#publisher !== publisher) return;
      this.#patch({ phase: 'ended', result, uploads: publisher.uploads() });
    } catch (err) {
      if (this.#publisher !== publisher) return;
      const e = err as PublishError;
      this.#patch({ phase: 'ended', problem: { code: e.code ?? 'internal', message: `The servers did not finalize the stream: ${e.message}` } });
    } finally {
      if (this.#publisher === publisher) this.#publisher = null;
    }
  }

  /** Back to the form after an ended broadcast (the source stays on). */
  reset(): void {
    if (this.live) return;
    this.status = idleStatus();
    this.capture.rewindFile();
    this.#host.requestUpdate();
  }

  /** Dismiss the current problem (the form was edited). */
  clearProblem(): void {
    if (!this.status.problem || this.live) return;
    this.#patch({ problem: null });
  }

  #wire(p: Publisher): void {
    const mine = () => this.#publisher === p;
    p.addEventListener('assigned', (e) => {
      if (!mine()) return;
      const r = e.detail;
      const choices = { ...this.status.choices };
      for (const c of [r.primary, r.backup]) if (c) choices[c.serverId] = c;
      this.#patch({ streamId: r.streamId, assignment: this.status.assignment ?? r, choices });
    });
    p.addEventListener('health', () => {
      if (mine()) this.#patch({ uploads: p.uploads() });
    });
    p.addEventListener('progress', (e) => {
      if (!mine()) return;
      const d = e.detail;
      this.status = { ...this.status, bytes: d.bytes, wireBytes: d.wireBytes, bufferedBytes: d.bufferedBytes, uploads: d.uploads };
    });
    p.addEventListener('failover', (e) => {
      if (!mine()) return;
      const f = e.detail;
      const lost = this.status.uploads.find((u) => u.serverId === f.from && u.state === 'failed');
      const why = lost?.error ? `: ${lost.error.message}` : '';
      this.#notice('failover', `${capitalize(f.role)} ${f.from || 'server'} failed${why}. ${f.to} takes over as ${f.role} and is filled from the resend buffer.`);
    });
    p.addEventListener('warning', (e) => {
      if (mine()) this.#notice('warning', e.detail.message);
    });
    p.addEventListener('error', (e) => {
      if (mine()) this.#fail({ code: e.detail.code, message: e.detail.message });
    });
  }

  /** A fatal publisher or recorder failure while live: stop recording, keep the figures on screen. */
  #fail(problem: Problem): void {
    const p = this.#publisher;
    this.#publisher = null;
    this.#stopRecorder();
    p?.close();
    this.capture.pauseFile();
    const wasStarting = this.status.phase === 'starting';
    this.#patch({ phase: wasStarting ? 'idle' : 'ended', problem: wasStarting ? publishProblem(problem.code, problem.message) : { ...problem, message: `The broadcast stopped: ${problem.message}` } });
  }

  #stopRecorder(): void {
    const r = this.#recorder;
    this.#recorder = null;
    if (r && r.state !== 'inactive') {
      try {
        r.stop();
      } catch {
        // Already stopped.
      }
    }
  }

  #notice(kind: Notice['kind'], text: string): void {
    this.#patch({ notices: [{ kind, text, atMs: Date.now() }, ...this.status.notices].slice(0, MAX_NOTICES) });
  }

  #setHub(state: HubState): void {
    this.hub = state;
    this.#host.requestUpdate();
  }

  #patch(p: Partial<BroadcastStatus>): void {
    this.status = { ...this.status, ...p };
    this.#host.requestUpdate();
  }

  /** Rates over a sliding window, the elapsed time, and the latest upload figures, at a steady pace. */
  readonly #tick = (): void => {
    const s = this.status;
    if (s.phase !== 'live' && s.phase !== 'ending') return;
    const t = performance.now();
    const p = this.#publisher;
    const bytes = p?.bytes ?? s.bytes;
    const wire = p?.wireBytes ?? s.wireBytes;
    this.#samples.push({ t, bytes, wire });
    while (this.#samples.length > 2 && t - this.#samples[0]!.t > RATE_WINDOW_MS) this.#samples.shift();
    const first = this.#samples[0]!;
    const dt = (t - first.t) / 1000;
    this.status = {
      ...s,
      bytes,
      wireBytes: wire,
      bufferedBytes: p?.bufferedBytes ?? s.bufferedBytes,
      uploads: p ? p.uploads() : s.uploads,
      streamBps: dt > 0.4 ? ((bytes - first.bytes) * 8) / dt : s.streamBps,
      uploadBps: dt > 0.4 ? ((wire - first.wire) * 8) / dt : s.uploadBps,
      elapsedMs: s.startedAt === null ? 0 : t - s.startedAt,
    };
    this.#host.requestUpdate();
  };

  readonly #onBeforeUnload = (e: BeforeUnloadEvent): void => {
    // Closing the tab mid-broadcast would leave both copies unfinished: ask first.
    if (this.status.phase === 'live' || this.status.phase === 'ending') e.preventDefault();
  };
}

function geolocationMessage(err: GeolocationPositionError): string {
  switch (err.code) {
    case err.PERMISSION_DENIED:
      return 'Location access was denied. Type the place you are broadcasting from instead.';
    case err.TIMEOUT:
      return 'The device did not find its position in time. Type a place instead.';
    default:
      return 'The device could not determine its position. Type a place instead.';
  }
}

function validate(streamKey: string, location: LocationInput, streamId: string | undefined): Problem | null {
  if (!streamKey) return { code: 'missing-key', message: 'Enter your stream key: the hub only accepts broadcasts that carry one.', field: 'key' };
  if (location.kind === 'text' && !location.text.trim()) return { code: 'missing-location', message: 'Say where you are broadcasting from, or use your device location.', field: 'location' };
  if (streamId && !ASSET_ID_PATTERN.test(streamId)) {
    return { code: 'bad-stream-id', message: 'A stream id is up to 64 letters, digits, “-” or “_”, starting with a letter or digit.', field: 'streamId' };
  }
  return null;
}

/** What a refused or failed start means, and which field to fix. */
function publishProblem(code: string, message: string): Problem {
  switch (code) {
    case 'unauthorized':
      return { code, message: `The hub refused the stream key (${message}). Check the key your operator gave you.`, field: 'key' };
    case 'unknown-place':
      return { code, message: 'The hub does not know that place. Pick one of the suggestions, type “lat, lon”, or use your device location.', field: 'location' };
    case 'no-ingest':
      return { code, message: `No ingest server can take the stream right now (${message}).` };
    case 'no-director':
      return { code, message: 'No media server holds the director role yet, so nobody can assign entry servers. Try again in a moment.' };
    case 'conflict':
      return { code, message: `That stream id is taken (${message}). Choose another one, or leave it empty.`, field: 'streamId' };
    case 'timeout':
      return { code, message: `The cluster did not answer in time (${message}). Try again.` };
    case 'rate-limited':
      return { code, message: 'Too many requests. Wait a moment, then go live again.' };
    case 'bad-request':
      return { code, message: `The hub refused the request: ${message}` };
    default:
      return { code, message };
  }
}

function pickRecorderType(hasAudio: boolean): RecorderType | null {
  if (typeof MediaRecorder === 'undefined') return null;
  const wanted = hasAudio ? RECORDER_TYPES : RECORDER_TYPES.filter((t) => !t.audio);
  return wanted.find((t) => MediaRecorder.isTypeSupported(t.recorder)) ?? null;
}

function deviceLabel(l: { lat: number; lon: number; accuracyM: number }): string {
  return `Device location (${l.lat.toFixed(2)}, ${l.lon.toFixed(2)})`;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
