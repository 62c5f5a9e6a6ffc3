// Browser half of the dev-only Lit hot replacement: patches the class registered for a tag with a newer version's members.
import { adoptStyles, type CSSResultGroup, type ReactiveElement } from 'lit';
import type { ViteHotContext } from 'vite/types/hot.js';

type ElementClass = typeof ReactiveElement;

/** Instance shape digests the transform registers per class (constructor, fields, reactive properties). */
const shapes = new WeakMap<object, string>();
/** Live instances per registered tag, held weakly: only they need re-rendering after a patch. */
const instances = new Map<string, Set<WeakRef<ReactiveElement>>>();
/** Per template call site, the strings array Lit first saw for its current text. */
const interned = new Map<string, TemplateStringsArray>();
const tags = new Map<string, (strings: TemplateStringsArray, ...values: unknown[]) => unknown>();

/**
 * The browser reads these from the prototype once, when the tag is defined, and calls those functions ever after:
 * a changed one on the patched prototype would never run.
 */
const LIFECYCLE = ['connectedCallback', 'disconnectedCallback', 'attributeChangedCallback', 'adoptedCallback'] as const;
/** Per registered class, the source of the lifecycle callbacks the browser holds. */
const lifecycles = new WeakMap<object, string[]>();

const lifecycleOf = (cls: ElementClass): string[] => LIFECYCLE.map((name) => String(Reflect.get(cls.prototype, name) ?? ''));

/** Statics Lit writes while defining a class, or that describe the class itself: never copied from a newer version. */
const OWN_STATICS = new Set<PropertyKey>(['prototype', 'length', 'name', 'styles', 'elementStyles', 'properties']);

export function shape(cls: object, digest: string): void {
  shapes.set(cls, digest);
}

/**
 * Lit reuses a rendered template's DOM only for the very strings array it rendered from, and a re-run module makes
 * new arrays for every template in it: handing back the old array when the text is the same keeps the DOM (and any
 * element or video in it) of every template the edit did not touch.
 */
export function tag<T>(fn: (strings: TemplateStringsArray, ...values: unknown[]) => T, key: string) {
  let wrapped = tags.get(key);
  if (!wrapped) {
    wrapped = (strings, ...values) => {
      const prev = interned.get(key);
      if (prev !== undefined && prev.length === strings.length && prev.every((s, i) => s === strings[i])) return fn(prev, ...values);
      interned.set(key, strings);
      return fn(strings, ...values);
    };
    tags.set(key, wrapped);
  }
  return wrapped as (strings: TemplateStringsArray, ...values: unknown[]) => T;
}

function track(tagName: string, cls: ElementClass): void {
  lifecycles.set(cls, lifecycleOf(cls));
  const live = new Set<WeakRef<ReactiveElement>>();
  instances.set(tagName, live);
  cls.addInitializer((el) => {
    live.add(new WeakRef(el));
  });
}

/** Copies what a newer version of a class changed onto the registered one; returns why it cannot, if it cannot. */
function patch(registered: ElementClass, next: ElementClass): string | null {
  if (Object.getPrototypeOf(next) !== Object.getPrototypeOf(registered)) return 'its base class changed';
  if (shapes.get(next) !== shapes.get(registered)) return 'its constructor, fields or reactive properties changed';
  const held = lifecycles.get(registered) ?? [];
  const changed = lifecycleOf(next).findIndex((src, i) => src !== held[i]);
  if (changed >= 0) return `its ${LIFECYCLE[changed]} changed (the browser keeps calling the one the tag was defined with)`;
  for (const key of Reflect.ownKeys(next.prototype)) {
    if (key === 'constructor') continue;
    Object.defineProperty(registered.prototype, key, Object.getOwnPropertyDescriptor(next.prototype, key) as PropertyDescriptor);
  }
  for (const key of Reflect.ownKeys(next)) {
    if (OWN_STATICS.has(key)) continue;
    const d = Object.getOwnPropertyDescriptor(next, key) as PropertyDescriptor;
    // Static data fields are part of the shape; methods and accessors can move over.
    if (typeof d.value === 'function' || d.get || d.set) Object.defineProperty(registered, key, d);
  }
  if (Object.hasOwn(next, 'styles')) {
    const styles = (next as unknown as { styles: CSSResultGroup }).styles;
    (registered as unknown as { styles: CSSResultGroup }).styles = styles;
    // finalizeStyles is how Lit turned `styles` into what it adopts when the class was defined.
    const finalize = (registered as unknown as { finalizeStyles(s: CSSResultGroup): ElementClass['elementStyles'] }).finalizeStyles;
    registered.elementStyles = finalize.call(registered, styles);
  }
  return null;
}

function refresh(tagName: string, registered: ElementClass): number {
  const live = instances.get(tagName) ?? new Set();
  let n = 0;
  for (const ref of live) {
    const el = ref.deref();
    if (!el) {
      live.delete(ref);
      continue;
    }
    if (el.renderRoot instanceof ShadowRoot) adoptStyles(el.renderRoot, registered.elementStyles);
    el.requestUpdate();
    n++;
  }
  return n;
}

/** Stands in for `customElements.define` in a component module: defines on the first run, patches on a hot re-run. */
export function define(hot: ViteHotContext | undefined) {
  return (tagName: string, cls: CustomElementConstructor, options?: ElementDefinitionOptions): void => {
    const registered = customElements.get(tagName) as ElementClass | undefined;
    const mine = (hot?.data.tags ?? []) as string[];
    if (!registered || !mine.includes(tagName)) {
      // A first definition, or a tag another module defined: the browser's own answer (including its error).
      if (!registered && 'addInitializer' in cls) track(tagName, cls as unknown as ElementClass);
      customElements.define(tagName, cls, options);
      if (hot) hot.data.tags = [...mine, tagName];
      return;
    }
    const why = patch(registered, cls as unknown as ElementClass);
    if (why) {
      console.info(`[baton hmr] <${tagName}>: ${why}; reloading the page`);
      location.reload();
      return;
    }
    const n = refresh(tagName, registered);
    console.debug(`[baton hmr] <${tagName}> hot-replaced (${n} live)`);
  };
}
