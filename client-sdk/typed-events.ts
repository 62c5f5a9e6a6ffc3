// An EventTarget whose events are typed by a map of CustomEvents (`{ end: CustomEvent<Result> }`),
// so `addEventListener('end', e => e.detail…)` is checked. DOM-free: EventTarget and
// CustomEvent are globals in browsers and in Node ≥ 19.

export class TypedEventTarget<M extends { [K in keyof M]: CustomEvent }> extends EventTarget {
  override addEventListener<K extends keyof M & string>(
    type: K,
    listener: (ev: M[K]) => void,
    options?: boolean | AddEventListenerOptions,
  ): void;
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  // biome-ignore lint/suspicious/noExplicitAny: the implementation serves both overloads
  override addEventListener(type: string, listener: any, options?: boolean | AddEventListenerOptions): void {
    super.addEventListener(type, listener, options);
  }

  override removeEventListener<K extends keyof M & string>(
    type: K,
    listener: (ev: M[K]) => void,
    options?: boolean | EventListenerOptions,
  ): void;
  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
  // biome-ignore lint/suspicious/noExplicitAny: the implementation serves both overloads
  override removeEventListener(type: string, listener: any, options?: boolean | EventListenerOptions): void {
    super.removeEventListener(type, listener, options);
  }

  /** Dispatch `type` with `detail`. */
  protected emit<K extends keyof M & string>(type: K, detail: M[K]['detail']): void {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
