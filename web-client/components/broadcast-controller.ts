// The broadcaster's async work: the hub connection, the captured source, the MediaRecorder and one Publisher.
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import SimplePeer from 'simple-peer/simplepeer.min.js';
import type { Place } from '../../signaling/protocol/types.js';
import { Publisher, PublishError } from '../../client-sdk/publisher.js';
import { SourceCapture, type Problem, type SourceKind } from './broadcast-source.js';
import { deviceLocation, publishLocation, suggestPlaces } from './broadcast-location.js';
import { publishProblem, validate } from './broadcast-problems.js';
import { createRecorder, pickRecorderType } from './broadcast-recorder.js';
import { Recording } from './broadcast-recording.js';
import { idleStatus, RateWindow, type BroadcastStatus, type GoLiveOptions, type LocationInput, type Notice } from './broadcast-status.js';
import { askViewers, VIEWERS_POLL_MS } from './catalog-source.js';
import { HubConnection, type HubState } from './hub-connection.js';
import { connectClient, iceServers, type ClientSocket } from './hub-socket.js';

export type { Problem, SourceInfo, SourceKind, SourceState } from './broadcast-source.js';
export type { BroadcastPhase, BroadcastStatus, GoLiveOptions, LocationInput, Notice } from './broadcast-status.js';
export type { HubState } from './hub-connection.js';
export { AUDIO_BITRATE_BPS, KEYFRAME_INTERVAL_MS, RECORDER_TIMESLICE_MS, VIDEO_BITRATE_BPS } from './broadcast-recorder.js';

/** How often rates and the elapsed time are refreshed on screen (ms). */
const STATUS_TICK_MS = 500;
/** Failover and warning notices kept on screen. */
const MAX_NOTICES = 6;

/**
 * Owns the source capture (with the preview `<video>` the component renders),
 * the MediaRecorder and the Publisher. Leaving the page ends a broadcast
 * cleanly, so both stored copies are finalized.
 */
export class BroadcastController implements ReactiveController {
  status: BroadcastStatus = idleStatus();
  /** The camera, screen or file, and the preview element the page renders. */
  readonly capture: SourceCapture;

  readonly #host: ReactiveControllerHost;
  readonly #hub: HubConnection<ClientSocket>;
  #recording: Recording | null = null;
  #publisher: Publisher | null = null;
  readonly #rates = new RateWindow();
  #timer: ReturnType<typeof setInterval> | undefined;
  /** The running `stop()`, so leaving the page mid-finalize waits for it. */
  #stopping: Promise<void> | null = null;
  /** Bumped by every goLive and by a cancel: an older goLive that wakes up finds it changed and backs off. */
  #run = 0;
  #viewersAskedAt = -Infinity;
  #viewersAsking = false;

  constructor(host: ReactiveControllerHost) {
    this.#host = host;
    // Navigating to another page ends the broadcast the way the button does: the socket
    // stays open until both copies are finalized.
    this.#hub = new HubConnection(host, {
      open: connectClient,
      beforeClose: () => (this.status.phase === 'live' ? this.stop() : this.status.phase === 'ending' ? this.#stopping : null),
    });
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

  /** The hub connection's state, for the page. */
  get hub(): HubState {
    return this.#hub.state;
  }

  get live(): boolean {
    return this.status.phase === 'starting' || this.status.phase === 'live' || this.status.phase === 'ending';
  }

  hostConnected(): void {
    this.#timer = setInterval(this.#tick, STATUS_TICK_MS);
    window.addEventListener('beforeunload', this.#onBeforeUnload);
  }

  hostDisconnected(): void {
    clearInterval(this.#timer);
    window.removeEventListener('beforeunload', this.#onBeforeUnload);
    // The hub connection (disconnected before this one) started stop() for a live broadcast.
    const ending = this.status.phase === 'ending' ? this.#stopping : null;
    if (ending) void ending.finally(() => this.capture.release());
    else {
      this.#run++;
      this.#publisher?.close();
      this.#publisher = null;
      this.#stopRecorder();
      this.capture.release();
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
  places(q: string, limit = 8): Promise<Place[]> {
    return suggestPlaces(this.#hub.socket, q, limit);
  }

  /** The device's position from the browser's geolocation (asks for permission). */
  deviceLocation(): Promise<LocationInput & { kind: 'device' }> {
    return deviceLocation();
  }

  // ---- broadcast -----------------------------------------------------------------------------

  /** Ask the hub for entry servers, connect to both, then start recording. Problems land in `status.problem`. */
  async goLive(o: GoLiveOptions): Promise<void> {
    if (this.live) return;
    const streamKey = o.streamKey.trim();
    const streamId = o.streamId?.trim() || undefined;
    const title = o.title?.trim() || undefined;
    const description = o.description?.trim() || undefined;
    const check = validate(streamKey, o.location, streamId, { title, description });
    if (check) return this.#patch({ ...idleStatus(), problem: check });
    const socket = this.#hub.socket;
    if (!socket?.connected)
      return this.#patch({
        ...idleStatus(),
        problem: { code: 'hub-offline', message: 'The hub is not reachable right now, so no entry server can be assigned.' },
      });

    const run = ++this.#run;
    this.status = { ...idleStatus(), phase: 'starting' };
    this.#host.requestUpdate();
    const acquired = await this.capture.acquire();
    if (run !== this.#run) return;
    // A capture problem is already explained over the preview.
    if (!acquired)
      return this.#patch({
        phase: 'idle',
        problem: this.capture.problem
          ? null
          : {
              code: 'no-source',
              message: 'Pick a source first: choose a video file, or switch to the camera or the screen.',
              field: 'source',
            },
      });
    const stream = this.capture.streamForRecording();
    if (!stream)
      return this.#patch({
        phase: 'idle',
        problem: { code: 'no-source', message: 'The source has no video to broadcast.', field: 'source' },
      });
    const type = pickRecorderType(stream.getAudioTracks().length > 0);
    if (!type)
      return this.#patch({
        phase: 'idle',
        problem: { code: 'unsupported', message: 'This browser cannot record WebM video (VP8 or VP9), which Baton streams.' },
      });
    const tracks = type.audio ? stream.getTracks() : stream.getVideoTracks();

    const location = publishLocation(o.location);
    const publisher = new Publisher({
      socket,
      SimplePeer,
      streamKey,
      location,
      ...(streamId ? { streamId } : {}),
      ...(title ? { title } : {}),
      ...(description ? { description } : {}),
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

    let recorder: MediaRecorder;
    try {
      recorder = createRecorder(tracks, type, publisher.limits?.maxBitrateBps);
    } catch (err) {
      this.#publisher = null;
      publisher.close();
      return this.#patch({
        phase: 'idle',
        problem: { code: 'unsupported', message: `The browser refused to record: ${(err as Error).message}` },
      });
    }
    const recording: Recording = new Recording(recorder, {
      wanted: () => this.#publisher === publisher,
      push: (bytes) => {
        if (this.#publisher !== publisher || this.status.phase === 'ended') return;
        try {
          publisher.push(bytes);
        } catch {
          // The publisher already failed or finished; its own event says why.
        }
      },
      onError: (message) => {
        if (this.#recording === recording) this.#fail({ code: 'recorder-error', message: `Recording failed: ${message}.` });
      },
      // Every track ended (the camera was unplugged): end the broadcast, keeping what was recorded.
      onStop: () => {
        if (this.#recording === recording && this.status.phase === 'live') void this.stop();
      },
    });
    this.#recording = recording;
    this.capture.rewindFile();
    recording.start();
    this.#rates.reset();
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
    const recording = this.#recording;
    await recording?.stop();
    this.#recording = null;
    this.capture.pauseFile();
    await recording?.drained();
    if (this.#publisher !== publisher) return;
    try {
      const result = await publisher.end();
      if (this.#publisher !== publisher) return;
      this.#patch({ phase: 'ended', result, uploads: publisher.uploads() });
    } catch (err) {
      if (this.#publisher !== publisher) return;
      const e = err as PublishError;
      this.#patch({
        phase: 'ended',
        problem: { code: e.code ?? 'internal', message: `The servers did not finalize the stream: ${e.message}` },
      });
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
      this.#notice(
        'failover',
        `${capitalize(f.role)} ${f.from || 'server'} failed${why}. ${f.to} takes over as ${f.role} and is filled from the resend buffer.`,
      );
    });
    p.addEventListener('warning', (e) => {
      if (mine()) this.#notice('warning', e.detail.message);
    });
    p.addEventListener('error', (e) => {
      if (mine()) this.#fail({ code: e.detail.code, message: e.detail.message });
    });
  }

  /** How many watch the stream now (one question at a time; a missing answer leaves the figure as it was). */
  async #askViewers(): Promise<void> {
    const socket = this.#hub.socket;
    const streamId = this.status.streamId;
    if (!socket?.connected || !streamId || this.#viewersAsking) return;
    this.#viewersAsking = true;
    this.#viewersAskedAt = performance.now();
    try {
      const n = await askViewers(socket, streamId);
      if (n !== undefined && this.status.streamId === streamId && this.status.phase === 'live') this.#patch({ viewers: n });
    } finally {
      this.#viewersAsking = false;
    }
  }

  /** A fatal publisher or recorder failure while live: stop recording, keep the figures on screen. */
  #fail(problem: Problem): void {
    const p = this.#publisher;
    this.#publisher = null;
    this.#stopRecorder();
    p?.close();
    this.capture.pauseFile();
    const wasStarting = this.status.phase === 'starting';
    this.#patch({
      phase: wasStarting ? 'idle' : 'ended',
      problem: wasStarting
        ? publishProblem(problem.code, problem.message)
        : { ...problem, message: `The broadcast stopped: ${problem.message}` },
    });
  }

  #stopRecorder(): void {
    const r = this.#recording;
    this.#recording = null;
    r?.abort();
  }

  #notice(kind: Notice['kind'], text: string): void {
    this.#patch({ notices: [{ kind, text, atMs: Date.now() }, ...this.status.notices].slice(0, MAX_NOTICES) });
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
    if (s.phase === 'live' && t - this.#viewersAskedAt >= VIEWERS_POLL_MS) void this.#askViewers();
    const p = this.#publisher;
    const bytes = p?.bytes ?? s.bytes;
    const wire = p?.wireBytes ?? s.wireBytes;
    const rates = this.#rates.add(t, bytes, wire);
    this.status = {
      ...s,
      bytes,
      wireBytes: wire,
      bufferedBytes: p?.bufferedBytes ?? s.bufferedBytes,
      uploads: p ? p.uploads() : s.uploads,
      streamBps: rates ? rates.streamBps : s.streamBps,
      uploadBps: rates ? rates.uploadBps : s.uploadBps,
      elapsedMs: s.startedAt === null ? 0 : t - s.startedAt,
    };
    this.#host.requestUpdate();
  };

  readonly #onBeforeUnload = (e: BeforeUnloadEvent): void => {
    // Closing the tab mid-broadcast would leave both copies unfinished: ask first.
    if (this.status.phase === 'live' || this.status.phase === 'ending') e.preventDefault();
  };
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
