// Dev-only Vite plugin: hot-replaces web-client's Lit elements instead of reloading the page (`npm run dev`).
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'vite';
import { LIT_HMR_RUNTIME_ID, loadLitHmrTransform } from './lit-hmr-transform.js';

const RUNTIME_FILE = fileURLToPath(new URL('./lit-hmr-runtime.ts', import.meta.url));
const SCRIPT = /\.[cm]?[jt]s$/;

/**
 * A component module (one that calls customElements.define under `webClientDir`) accepts its own updates: the
 * runtime copies the new class's members and styles onto the registered class and re-renders its live instances,
 * or reloads the page when the change cannot reach them (constructor, fields, reactive properties, base class).
 * Any other script in the page's graph reloads the page when it changes: controllers and connections made by the
 * old code would otherwise keep running it unnoticed. Style modules (`stylesDir`) only export `css`, and update
 * through the components that import them.
 */
export function litHmr(o: { webClientDir: string; stylesDir: string }): Plugin {
  const inWebClient = (file: string) => file.startsWith(o.webClientDir);
  return {
    name: 'baton-lit-hmr',
    apply: 'serve',
    enforce: 'pre',
    resolveId(id) {
      return id === LIT_HMR_RUNTIME_ID ? RUNTIME_FILE : undefined;
    },
    async transform(code, id) {
      const file = id.split('?')[0];
      if (!inWebClient(file) || !file.endsWith('.ts')) return undefined;
      const out = (await loadLitHmrTransform()).transformLitModule(code, file);
      // map: null — every edit stays on its line, so the TypeScript step's map still points at the source.
      return out ? { code: out.code, map: null } : undefined;
    },
    async hotUpdate({ file, modules, read }) {
      if (this.environment.name !== 'client' || modules.length === 0 || !SCRIPT.test(file)) return;
      if (file.startsWith(o.stylesDir)) return;
      if (inWebClient(file) && (await loadLitHmrTransform()).definesElements(await read(), file)) return;
      this.environment.hot.send({ type: 'full-reload', path: '*' });
      return [];
    },
  };
}
