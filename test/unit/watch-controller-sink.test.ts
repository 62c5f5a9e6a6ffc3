// The player's controller (watch-controller.ts) over fakes of the hub, the Viewers and the sink: what the sink
// reports acts on the playback, also after a rendition took it over from the Viewer that opened the sink.
import { beforeEach, describe, expect, it, vi } from 'vitest';

/** A Viewer's surface the controller uses; events are dispatched by the test. */
class FakeViewer extends EventTarget {
  readonly calls: string[] = [];
  constructor(readonly assetId: string) {
    super();
  }
  start = () => void this.calls.push('start');
  close = () => void this.calls.push('close');
  pause = () => void this.calls.push('pause');
  resume = () => void this.calls.push('resume');
  limit = () => undefined;
  seekTime = () => undefined;
  emit(type: string, detail: unknown): void {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

/** The sink's options as the controller gave them (through PlaybackMedia, which is real). */
interface SinkOptions {
  onError: (e: Error) => void;
  onBackpressure?: (full: boolean) => void;
}

const fakes = vi.hoisted(() => ({
  viewers: [] as unknown[],
  sinks: [] as { options: SinkOptions; splices: string[] }[],
}));

vi.mock('../../web-client/components/client-socket.js', () => {
  const video = Object.assign(new EventTarget(), {
    muted: false,
    autoplay: false,
    playsInline: false,
    controls: false,
    currentTime: 0,
    duration: Number.NaN,
    readyState: 4,
    ended: false,
    seeking: false,
    setAttribute: () => undefined,
    play: () => Promise.resolve(),
  });
  return { takeEarlyVideo: () => video, removeWatchShell: () => undefined, takeEarlyPlayback: () => null };
});
vi.mock('../../web-client/components/early-watch.js', () => ({
  playerViewer: (_socket: unknown, streamId: string) => {
    const v = new FakeViewer(streamId);
    fakes.viewers.push(v);
    return v;
  },
  takeEarlyViewer: () => null,
}));
vi.mock('../../web-client/components/player-hub.js', () => ({
  CATALOG_REFRESH_MS: 1,
  VIEWERS_POLL_MS: 1,
  PlayerHub: class {
    socket = {};
    state = 'connected';
    connect() {}
    disconnect() {}
  },
}));
vi.mock('../../web-client/components/catalog-source.js', () => ({
  CatalogSource: class {
    current = null;
    entry(id: string) {
      return id === 'film'
        ? {
            id,
            title: 'Film',
            live: false,
            heightPx: 720,
            bitrateBps: 2_000_000,
            renditions: [{ id: 'film-144p', heightPx: 144, bitrateBps: 100_000 }],
          }
        : undefined;
    }
    load() {
      return Promise.resolve();
    }
    refresh() {
      return Promise.resolve();
    }
    viewersOf() {
      return Promise.resolve(undefined);
    }
    stop() {}
  },
}));
vi.mock('../../web-client/components/position-keeper.js', () => ({
  PositionKeeper: class {
    resumePoint() {
      return null;
    }
    note() {}
  },
}));
vi.mock('../../web-client/components/mse-sink.js', () => ({
  BACK_BUFFER_S: 30,
  MseSink: { attach: () => ({}), detach: () => undefined },
}));
vi.mock('../../web-client/components/player-sink.js', () => ({
  PlayerSink: class {
    static supports = () => true;
    readonly splices: string[] = [];
    live = false;
    constructor(
      _video: unknown,
      _mime: string,
      readonly options: SinkOptions,
    ) {
      fakes.sinks.push(this);
    }
    append() {}
    splice(mime: string) {
      this.splices.push(mime);
    }
    seek() {}
    end() {}
    close() {}
    bufferAheadSeconds() {
      return 10;
    }
    holds() {
      return true;
    }
  },
}));

const { WatchController } = await import('../../web-client/components/watch-controller.js');

const meta = (assetId: string, mime: string) => ({ assetId, mime, bytes: 1_000_000, live: false, durationMs: 60_000 });

/** A controller playing `film`, from its 144p rendition (Auto's first rung); `video` is set on its element first. */
function playing(video: object = {}) {
  const host = { addController: () => undefined, requestUpdate: () => undefined };
  const ctl = new WatchController(host as never);
  Object.assign(ctl.video, video);
  ctl.watch('film');
  const first = fakes.viewers[0] as FakeViewer;
  first.emit('meta', meta('film-144p', 'video/webm; codecs="vp8, opus"'));
  return { ctl, first };
}

/** A controller playing `film` from its 144p rendition, switched by the viewer to the 720p original at 4 s. */
function switchedPlayback() {
  const host = { addController: () => undefined, requestUpdate: () => undefined };
  const ctl = new WatchController(host as never);
  ctl.watch('film');
  const [first] = fakes.viewers as FakeViewer[];
  expect(first!.assetId).toBe('film-144p');
  first!.emit('meta', meta('film-144p', 'video/webm; codecs="vp8, opus"'));
  first!.emit('data', { bytes: new Uint8Array(100) });
  Object.assign(ctl.video, { currentTime: 4, duration: 60 });
  ctl.pick('film');
  const second = fakes.viewers[1] as FakeViewer;
  expect(second.assetId).toBe('film');
  second.emit('meta', meta('film', 'video/x-matroska; codecs="avc1.64001f, mp4a.40.2"'));
  const [sink] = fakes.sinks;
  expect(fakes.sinks).toHaveLength(1);
  expect(sink!.splices).toHaveLength(1);
  expect(ctl.status.streamId).toBe('film');
  return { ctl, first: first!, second, sink: sink! };
}

describe('watch controller: the sink after a rendition switch', () => {
  beforeEach(() => {
    fakes.viewers.length = 0;
    fakes.sinks.length = 0;
  });

  it('shows a media error the sink reports after a switch', () => {
    const { ctl, second, sink } = switchedPlayback();
    sink.options.onError(new Error('CHUNK_DEMUXER_ERROR_APPEND_FAILED'));
    expect(ctl.status.phase).toBe('error');
    expect(ctl.status.error).toEqual({ code: 'media-error', message: 'Playback failed: CHUNK_DEMUXER_ERROR_APPEND_FAILED.' });
    expect(second.calls).toContain('close');
  });

  it('pauses and resumes the Viewer playing now, not the one that opened the sink', () => {
    const { first, second, sink } = switchedPlayback();
    sink.options.onBackpressure!(true);
    sink.options.onBackpressure!(false);
    expect(second.calls.filter((c) => c === 'pause' || c === 'resume')).toEqual(['pause', 'resume']);
    expect(first.calls).not.toContain('pause');
  });

  it('keeps the new Viewer paused when the switch takes over while the queue is full', () => {
    const { ctl, first } = playing();
    fakes.sinks[0]!.options.onBackpressure!(true);
    Object.assign(ctl.video, { currentTime: 4, duration: 60 });
    ctl.pick('film');
    const second = fakes.viewers[1] as FakeViewer;
    second.emit('meta', meta('film', 'video/webm; codecs="vp9, opus"'));
    expect(second.calls).toContain('pause');
  });

  it('plays a rung picked in the last moments of the media once the viewer seeks back within what is buffered', () => {
    const { ctl, first } = playing();
    Object.assign(ctl.video, { currentTime: 59.8, duration: 60 });
    ctl.pick('film');
    expect(fakes.viewers).toHaveLength(1);
    Object.assign(ctl.video, { currentTime: 5 });
    ctl.video.dispatchEvent(new Event('seeking'));
    expect((fakes.viewers as FakeViewer[]).map((v) => v.assetId)).toEqual(['film-144p', 'film']);
  });

  it("starts the video at the playback's first bytes only, not at a rendition's after a switch (the viewer may have paused)", () => {
    const play = vi.fn(() => Promise.resolve());
    const { ctl, first } = playing({ play });
    first.emit('data', { bytes: new Uint8Array(100) });
    first.emit('data', { bytes: new Uint8Array(100) });
    expect(play).toHaveBeenCalledTimes(1);
    // Paused, the viewer picks the 720p original: its bytes take over and the video stays paused.
    Object.assign(ctl.video, { currentTime: 4, duration: 60 });
    ctl.pick('film');
    const second = fakes.viewers[1] as FakeViewer;
    second.emit('meta', meta('film', 'video/webm; codecs="vp9, opus"'));
    second.emit('data', { bytes: new Uint8Array(100) });
    expect(ctl.status.streamId).toBe('film');
    expect(play).toHaveBeenCalledTimes(1);
    ctl.watch(null);
  });

  it('shows a seek made while paused as paused once it lands, not as buffering', () => {
    const { ctl, first } = playing();
    first.emit('data', { bytes: new Uint8Array(100) });
    Object.assign(ctl.video, { paused: true, readyState: 4, currentTime: 4, duration: 60 });
    ctl.video.dispatchEvent(new Event('pause'));
    expect(ctl.status.video).toBe('paused');
    Object.assign(ctl.video, { currentTime: 10, seeking: true, readyState: 1 });
    ctl.video.dispatchEvent(new Event('seeking'));
    expect(ctl.status.video).toBe('waiting');
    Object.assign(ctl.video, { seeking: false, readyState: 4 });
    ctl.video.dispatchEvent(new Event('seeked'));
    expect(ctl.status.video).toBe('paused');
    Object.assign(ctl.video, { paused: false, currentTime: 0, duration: Number.NaN });
    ctl.watch(null);
  });

  it('ignores what a sink of a stopped playback reports', () => {
    const { ctl, sink } = switchedPlayback();
    ctl.watch(null);
    sink.options.onError(new Error('late'));
    expect(ctl.status.phase).toBe('idle');
  });
});
