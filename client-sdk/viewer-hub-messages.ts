// A Viewer's messages from the hub (signal, session-close): parsed, a malformed one dropped whole, those ahead of the watch reply kept.
import { LocalErrorCode } from '../common/error-codes.js';
import { parse, signalSchema, type SignalMessage } from '../signaling/protocol/messages.js';
import { sessionCloseSchema, type SessionClose } from '../signaling/protocol/replies.js';
import type { ViewerSocket } from './viewer-types.js';

/** Hub messages kept while a watch's reply is awaited (the answer and a few candidates; more is not a session's). */
export const MAX_EARLY_HUB_MESSAGES = 32;

/** What the Viewer does with each message, once it may apply. */
export interface HubMessageHandlers {
  /** The Viewer knows its session (messages apply at once). */
  hasSession(): boolean;
  signal(m: SignalMessage): void;
  sessionClose(m: SessionClose): void;
  warn(w: { code: string; message: string }): void;
}

/** Listens on the socket from `listen` to `unlisten`; `signal` and `sessionClose` also take messages handed over by a watch asked ahead. */
export class ViewerHubMessages {
  readonly #socket: ViewerSocket;
  readonly #h: HubMessageHandlers;
  /** Hub messages come before the watch reply naming their session (the hub relays the answer right behind it): kept. */
  #early: Array<() => void> | null = null;

  constructor(socket: ViewerSocket, handlers: HubMessageHandlers) {
    this.#socket = socket;
    this.#h = handlers;
  }

  listen(): void {
    this.#socket.on('signal', this.signal);
    this.#socket.on('session-close', this.sessionClose);
  }

  unlisten(): void {
    this.#socket.off('signal', this.signal);
    this.#socket.off('session-close', this.sessionClose);
  }

  /** A watch is asked: `hold`, its session's messages before its reply are kept (a watch asked ahead holds its own). */
  awaitReply(hold: boolean): void {
    this.#early = hold ? [] : null;
  }

  /** The reply came: what was kept, to apply once the session is bound; nothing is kept from now on. */
  release(): Array<() => void> | null {
    const early = this.#early;
    this.#early = null;
    return early;
  }

  readonly signal = (msg: unknown): void => {
    const p = parse(signalSchema, msg);
    if (!p.ok) return this.#refuse('signal', p.message);
    this.#fromHub(() => this.#h.signal(p.value));
  };

  readonly sessionClose = (msg: unknown): void => {
    const p = parse(sessionCloseSchema, msg);
    if (!p.ok) return this.#refuse('session-close', p.message);
    this.#fromHub(() => this.#h.sessionClose(p.value));
  };

  /** A parsed hub message applied now, or kept (up to MAX_EARLY_HUB_MESSAGES) while a watch's reply is awaited. */
  #fromHub(apply: () => void): void {
    if (!this.#early || this.#h.hasSession()) apply();
    else if (this.#early.length < MAX_EARLY_HUB_MESSAGES) this.#early.push(apply);
  }

  /** Dropped whole: acting on what can be read of a malformed one (a garbled session id may be ours) could end a healthy session. */
  #refuse(event: 'signal' | 'session-close', why: string): void {
    this.#h.warn({ code: LocalErrorCode.badHubMessage, message: `dropped a malformed ${event} from the hub: ${why}` });
  }
}
