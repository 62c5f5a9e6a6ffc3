// What the broadcaster sends: the camera, a shared screen, or a local video file, shown in one preview <video>.
import { CodedError } from '../../common/coded-error.js';

export type SourceKind = 'camera' | 'screen' | 'file';
export type SourceState = 'none' | 'acquiring' | 'ready';

/** Something the broadcaster should know about; `field` names the form field to fix, if any. */
export interface Problem {
  code: string;
  message: string;
  field?: 'source' | 'key' | 'location' | 'streamId' | 'title' | 'description';
}

/** What the captured source is, for the form: a device label, a file name, dimensions. */
export interface SourceInfo {
  kind: SourceKind;
  label: string;
  width?: number;
  height?: number;
  audio: boolean;
}

export interface SourceCaptureOptions {
  /** Something the page shows changed. */
  onChange: () => void;
  /** The source ended by itself: a screen share was stopped from the browser's bar, or the file played to its end. */
  onEnded: (kind: SourceKind) => void;
}

type CapturableVideo = HTMLVideoElement & { captureStream(): MediaStream };

/**
 * Owns the preview element and the captured MediaStream (or the playing file).
 * A camera or screen is captured as soon as it is chosen, so the preview shows
 * what will go out; a file plays in the preview and is captured from it.
 */
export class SourceCapture {
  readonly preview: HTMLVideoElement;
  kind: SourceKind = 'camera';
  state: SourceState = 'none';
  info: SourceInfo | null = null;
  /** Why the source did not start (camera denied, unplayable file). */
  problem: Problem | null = null;

  readonly #o: SourceCaptureOptions;
  #stream: MediaStream | null = null;
  #fileUrl: string | null = null;
  /** Bumped on every change of source: a capture that resolves late finds it changed and backs off. */
  #seq = 0;

  constructor(o: SourceCaptureOptions) {
    this.#o = o;
    const v = document.createElement('video');
    // The preview is for the broadcaster's eyes: never play their own microphone back to them.
    // (Chrome's captureStream still carries a muted file's sound.)
    v.muted = true;
    v.autoplay = true;
    v.playsInline = true;
    v.setAttribute('part', 'preview');
    v.addEventListener('ended', () => {
      if (this.kind === 'file') this.#o.onEnded('file');
    });
    this.preview = v;
  }

  /**
   * Switch the source kind; a camera or screen is captured at once (the browser asks for permission). The kind in
   * use picked again keeps its source: pressing the pressed "Video file" dropped the chosen file, and picking that
   * file again in the still-open picker changed nothing, so Go live said "Nothing to broadcast".
   */
  async select(kind: SourceKind): Promise<void> {
    if (kind === this.kind && this.state !== 'none') return;
    this.kind = kind;
    this.release();
    this.#o.onChange();
    if (kind !== 'file') await this.acquire();
  }

  /** Capture the camera or the screen (a file is chosen with `useFile`). Resolves true when a stream is ready. */
  async acquire(): Promise<boolean> {
    const kind = this.kind;
    if (kind === 'file' || this.state === 'ready') return this.state === 'ready';
    const seq = ++this.#seq;
    this.state = 'acquiring';
    this.problem = null;
    this.#o.onChange();
    try {
      const media = navigator.mediaDevices;
      if (!media)
        throw new CaptureError(
          'insecure-context',
          'This page is not a secure context (https or localhost), so the browser offers no camera or screen capture.',
        );
      const stream =
        kind === 'camera' ? await openCamera(media) : await media.getDisplayMedia({ video: { frameRate: { ideal: 30 } }, audio: true });
      if (seq !== this.#seq || this.kind !== kind) {
        stream.getTracks().forEach((t) => t.stop());
        return false;
      }
      this.#useStream(stream, kind);
      return true;
    } catch (err) {
      if (seq === this.#seq) this.#failed(captureProblem(kind, err));
      return false;
    }
  }

  /** Use a local video file: it plays in the preview and is captured from there when the broadcast starts. */
  async useFile(file: File): Promise<void> {
    this.kind = 'file';
    this.release();
    const seq = ++this.#seq;
    this.state = 'acquiring';
    this.#o.onChange();
    const url = URL.createObjectURL(file);
    this.#fileUrl = url;
    const v = this.preview;
    v.srcObject = null;
    v.loop = false;
    v.src = url;
    try {
      await new Promise<void>((resolve, reject) => {
        const ok = () => done(null);
        const bad = () => done(new CaptureError('file-unplayable', `This browser cannot play “${file.name}”. Pick a WebM or MP4 video.`));
        const done = (err: Error | null) => {
          v.removeEventListener('loadedmetadata', ok);
          v.removeEventListener('error', bad);
          err ? reject(err) : resolve();
        };
        v.addEventListener('loadedmetadata', ok);
        v.addEventListener('error', bad);
      });
      if (seq !== this.#seq) return;
      if (typeof (v as CapturableVideo).captureStream !== 'function')
        throw new CaptureError('unsupported', 'This browser cannot capture a playing video (no captureStream).');
      this.info = { kind: 'file', label: file.name, width: v.videoWidth || undefined, height: v.videoHeight || undefined, audio: true };
      this.state = 'ready';
      v.play().catch(() => undefined);
      this.#o.onChange();
    } catch (err) {
      if (seq === this.#seq) this.#failed(captureProblem('file', err));
    }
  }

  /** The tracks to record: the captured stream, or a capture of the playing file. */
  streamForRecording(): MediaStream | null {
    if (this.state !== 'ready') return null;
    if (this.kind === 'file') {
      const s = (this.preview as CapturableVideo).captureStream();
      return s.getVideoTracks().length > 0 ? s : null;
    }
    return this.#stream && this.#stream.getVideoTracks().length > 0 ? this.#stream : null;
  }

  /** A file stops playing when its broadcast ends (a camera or screen stays on for the next one). */
  pauseFile(): void {
    if (this.kind === 'file') this.preview.pause();
  }

  /** Play a file from its start (as its broadcast begins, so it carries all of it; or to show it again after). */
  rewindFile(): void {
    if (this.kind !== 'file' || this.state !== 'ready') return;
    this.preview.currentTime = 0;
    this.preview.play().catch(() => undefined);
  }

  /** Stop capturing and clear the preview (idempotent). */
  release(): void {
    this.#seq++;
    this.#stream?.getTracks().forEach((t) => t.stop());
    this.#stream = null;
    this.preview.pause();
    this.preview.srcObject = null;
    if (this.#fileUrl) {
      this.preview.removeAttribute('src');
      this.preview.load();
      URL.revokeObjectURL(this.#fileUrl);
      this.#fileUrl = null;
    }
    this.info = null;
    this.problem = null;
    this.state = 'none';
  }

  #useStream(stream: MediaStream, kind: SourceKind): void {
    this.#stream = stream;
    const video = stream.getVideoTracks()[0];
    const settings = video?.getSettings();
    this.info = {
      kind,
      label: kind === 'screen' ? surfaceLabel(settings) : video?.label || 'Camera',
      width: settings?.width,
      height: settings?.height,
      audio: stream.getAudioTracks().length > 0,
    };
    this.state = 'ready';
    video?.addEventListener('ended', () => {
      if (this.#stream === stream) this.#o.onEnded(kind);
    });
    this.preview.removeAttribute('src');
    this.preview.srcObject = stream;
    this.preview.play().catch(() => undefined);
    this.#o.onChange();
  }

  #failed(p: Problem): void {
    this.release();
    this.problem = p;
    this.#o.onChange();
  }
}

/** Why a source could not be captured (`denied`, `no-device`, `no-geolocation`, …). */
export class CaptureError extends CodedError {
  override readonly name = 'CaptureError';
}

async function openCamera(media: MediaDevices): Promise<MediaStream> {
  const video = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };
  try {
    return await media.getUserMedia({ video, audio: true });
  } catch (err) {
    // A camera without a microphone (or a busy microphone) still makes a broadcast.
    const name = (err as DOMException).name;
    if (name === 'NotFoundError' || name === 'OverconstrainedError' || name === 'NotReadableError')
      return media.getUserMedia({ video: true });
    throw err;
  }
}

/** Screen captures carry opaque track labels (`screen:0:0`): name what is shared instead. */
function surfaceLabel(settings: MediaTrackSettings | undefined): string {
  switch ((settings as { displaySurface?: string } | undefined)?.displaySurface) {
    case 'monitor':
      return 'Entire screen';
    case 'window':
      return 'A window';
    case 'browser':
      return 'A browser tab';
    default:
      return 'Shared screen';
  }
}

function captureProblem(kind: SourceKind, err: unknown): Problem {
  if (err instanceof CaptureError) return { code: err.code, message: err.message, field: 'source' };
  const name = (err as DOMException | undefined)?.name ?? '';
  const message = (err as Error | undefined)?.message ?? String(err);
  const what = kind === 'screen' ? 'screen' : 'camera';
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return kind === 'screen'
        ? {
            code: 'screen-denied',
            message: 'Screen sharing was cancelled or blocked. Choose Screen again and pick a screen, window or tab to share.',
            field: 'source',
          }
        : {
            code: 'camera-denied',
            message:
              'The browser was denied access to the camera. Allow it from the camera icon in the address bar (or the site settings), then try again.',
            field: 'source',
          };
    case 'NotFoundError':
      return {
        code: `no-${what}`,
        message:
          kind === 'screen'
            ? 'There is no screen to share.'
            : 'No camera was found on this device. Plug one in, or share your screen or a file instead.',
        field: 'source',
      };
    case 'NotReadableError':
    case 'AbortError':
      return { code: `${what}-busy`, message: `The ${what} could not be started; another application may be using it.`, field: 'source' };
    default:
      return { code: `${what}-error`, message: `The ${what} could not be started: ${message}`, field: 'source' };
  }
}
