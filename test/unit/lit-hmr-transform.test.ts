// The dev-only rewrite behind Lit hot replacement: private members become reachable from a newer class version, lines stay put,
// and the instance-shape digest tells a render edit (hot) from a constructor or field change (reload).
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { loadLitHmrTransform } from '../../dev/lit-hmr-transform.js';

const { definesElements, transformLitModule } = await loadLitHmrTransform();

const COMPONENT = `// A component.
import { LitElement, html as h } from 'lit';
export class XCounter extends LitElement {
  static override styles = [];
  #count = 0;
  static #made = 0;
  constructor() {
    super();
    XCounter.#made++;
  }
  #label() {
    return h\`<b>\${this.#count}</b>\`;
  }
  override render() {
    const inner = new (class {
      #count = 'inner';
      read() { return this.#count; }
    })();
    return h\`<p>\${this.#label()} \${inner.read()} \${#count in this}</p>\`;
  }
}
customElements.define('x-counter', XCounter);
`;

const out = (code: string) => {
  const r = transformLitModule(code, 'web-client/components/x-counter.ts');
  if (!r) throw new Error('expected a component module');
  return r;
};

function privateNames(code: string): string[] {
  const sf = ts.createSourceFile('out.ts', code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: string[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isPrivateIdentifier(n)) found.push(n.text);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}

const shapeOf = (code: string) => out(code).code.match(/shape\(XCounter, "([^"]+)"\)/)?.[1];

describe('transformLitModule', () => {
  it('leaves a module that defines no element alone', () => {
    expect(transformLitModule('export class A { #x = 1; get x() { return this.#x; } }', 'web-client/components/a.ts')).toBeNull();
    expect(definesElements('export const x = 1;', 'a.ts')).toBe(false);
    expect(definesElements(COMPONENT, 'x.ts')).toBe(true);
  });

  it('turns every #private member into an ordinary one named after its own class, brand checks included', () => {
    const { code, elements, otherExports } = out(COMPONENT);
    expect(privateNames(code)).toEqual([]);
    expect(code).toContain('__hmr_XCounter_count = 0;');
    expect(code).toContain('XCounter.__hmr_XCounter_made++');
    expect(code).toContain('this.__hmr_XCounter_label()');
    expect(code).toContain('"__hmr_XCounter_count" in this');
    // The inner class's #count is its own, not the element's.
    expect(code).toContain("__hmr_anonymous0_count = 'inner'");
    expect(code).toContain('return this.__hmr_anonymous0_count;');
    expect(elements).toEqual(['XCounter']);
    expect(otherExports).toBe(false);
  });

  it('keeps every line where it was, routes define and lit templates through the runtime, and accepts its own updates', () => {
    const { code } = out(COMPONENT);
    const before = COMPONENT.split('\n');
    const after = code.split('\n');
    expect(after.length).toBe(before.length + 2); // the accept call, after a blank line
    before.forEach((line, i) => {
      if (line.includes('customElements.define'))
        expect(after[i]).toContain("__batonLitHmr.define(import.meta.hot)('x-counter', XCounter)");
      if (line.startsWith('  #label()')) expect(after[i]).toMatch(/^ {2}__hmr_XCounter_label\(\)/);
    });
    expect(after[0]).toMatch(/^import \* as __batonLitHmr from 'virtual:baton-lit-hmr';\/\/ A component\.$/);
    // `html` imported under another name is still a lit template tag; each call site has its own key.
    expect(code).toContain('__batonLitHmr.tag(h, "web-client/components/x-counter.ts#0")`<b>');
    expect(code).toContain('__batonLitHmr.tag(h, "web-client/components/x-counter.ts#1")`<p>');
    expect(after.at(-2)).toBe('if (import.meta.hot) import.meta.hot.accept(() => {});');
  });

  it('changes the shape digest for a constructor or field change, not for a render or style edit', () => {
    const base = shapeOf(COMPONENT);
    expect(base).toBeTruthy();
    expect(shapeOf(COMPONENT.replace('<b>', '<i>'))).toBe(base);
    expect(shapeOf(COMPONENT.replace('static override styles = []', 'static override styles = [1]'))).toBe(base);
    expect(shapeOf(COMPONENT.replace('#count = 0;', '#count = 1;'))).not.toBe(base);
    expect(shapeOf(COMPONENT.replace('#count = 0;', '#count = 0;\n  #more = 2;'))).not.toBe(base);
    expect(shapeOf(COMPONENT.replace('XCounter.#made++;', 'XCounter.#made += 2;'))).not.toBe(base);
    expect(
      shapeOf(COMPONENT.replace('static override styles = [];', 'static override styles = [];\n  static properties = { n: {} };')),
    ).not.toBe(base);
  });

  it('sends updates on to importers when the module exports values besides its elements', () => {
    const withHelper = `${COMPONENT}export function helper() { return 1; }\nexport interface Shape { a: number }\n`;
    const r = out(withHelper);
    expect(r.otherExports).toBe(true);
    expect(r.code).toContain('import.meta.hot.invalidate(');
    expect(out(`${COMPONENT}export type T = number;\n`).otherExports).toBe(false);
  });
});
