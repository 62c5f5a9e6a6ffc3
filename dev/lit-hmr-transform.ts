// Dev-only rewrite of a web-client component module so Vite can hot-replace its Lit elements (see lit-hmr-plugin.ts).
import type TS from 'typescript';

/** The compiler, loaded on first use: `vite build` loads the config this plugin is in, and never needs it (≈ 1.5 s). */
let ts: typeof TS;

/** The rewrite and the check the dev server needs, once the TypeScript compiler is loaded. */
export async function loadLitHmrTransform(): Promise<{
  transformLitModule: typeof transformLitModule;
  definesElements: typeof definesElements;
}> {
  ts ??= (await import('typescript')).default;
  return { transformLitModule, definesElements };
}

/** The module id the rewritten code imports the browser half (lit-hmr-runtime.ts) from. */
export const LIT_HMR_RUNTIME_ID = 'virtual:baton-lit-hmr';
const NS = '__batonLitHmr';

interface Edit {
  start: number;
  end: number;
  text: string;
}

/** What the transform found in a module: whether it defines custom elements, and the rewritten code if it does. */
export interface LitHmrTransform {
  code: string;
  /** Names passed to customElements.define as the element class. */
  elements: string[];
  /** The module exports values besides its element classes: their importers hold the old values after an update. */
  otherExports: boolean;
}

function isDefineCall(node: TS.Node): node is TS.CallExpression {
  if (!ts.isCallExpression(node) || !ts.isPropertyAccessExpression(node.expression)) return false;
  const callee = node.expression;
  if (callee.name.text !== 'define') return false;
  const target = callee.expression;
  if (ts.isIdentifier(target)) return target.text === 'customElements';
  return (
    ts.isPropertyAccessExpression(target) &&
    target.name.text === 'customElements' &&
    ts.isIdentifier(target.expression) &&
    target.expression.text === 'window'
  );
}

/** Whether a module calls customElements.define (the server asks this of a changed file before choosing hot update or reload). */
function definesElements(code: string, fileName: string): boolean {
  const sf = ts.createSourceFile(fileName, code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  let found = false;
  const visit = (node: TS.Node): void => {
    if (found) return;
    if (isDefineCall(node)) found = true;
    else ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** A short stable digest (FNV-1a), enough to tell two versions of a class's instance shape apart. */
function digest(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(36);
}

function hasModifier(node: TS.Node, kind: TS.SyntaxKind): boolean {
  return ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === kind);
}

/**
 * What existing instances cannot pick up by swapping prototype members: the base class, the constructor,
 * instance field initialisers (they ran when the instance was made) and static fields other than `styles`
 * (reactive `properties` become accessors when the class is first defined). A change here needs a reload.
 */
function instanceShape(cls: TS.ClassLikeDeclaration, sf: TS.SourceFile): string {
  const parts = (cls.heritageClauses ?? []).map((h) => h.getText(sf));
  for (const m of cls.members) {
    if (ts.isConstructorDeclaration(m)) parts.push(m.getText(sf));
    else if (ts.isPropertyDeclaration(m) && !hasModifier(m, ts.SyntaxKind.DeclareKeyword)) {
      const isStatic = hasModifier(m, ts.SyntaxKind.StaticKeyword);
      if (!(isStatic && m.name.getText(sf) === 'styles')) parts.push(m.getText(sf));
    }
  }
  return digest(parts.join('\n'));
}

function litTemplateTags(sf: TS.SourceFile): Set<string> {
  const tags = new Set<string>();
  for (const st of sf.statements) {
    if (!ts.isImportDeclaration(st) || !ts.isStringLiteral(st.moduleSpecifier) || !/^lit(-html)?$/.test(st.moduleSpecifier.text)) continue;
    const named = st.importClause?.namedBindings;
    if (!named || !ts.isNamedImports(named)) continue;
    for (const el of named.elements) {
      const imported = (el.propertyName ?? el.name).text;
      if (!el.isTypeOnly && (imported === 'html' || imported === 'svg')) tags.add(el.name.text);
    }
  }
  return tags;
}

function hasOtherExports(sf: TS.SourceFile, elements: Set<string>): boolean {
  for (const st of sf.statements) {
    if (ts.isExportAssignment(st)) return true;
    if (ts.isExportDeclaration(st)) {
      if (st.isTypeOnly) continue;
      if (
        !st.exportClause ||
        (ts.isNamedExports(st.exportClause) && st.exportClause.elements.some((e) => !e.isTypeOnly && !elements.has(e.name.text)))
      )
        return true;
      continue;
    }
    if (!hasModifier(st, ts.SyntaxKind.ExportKeyword) || hasModifier(st, ts.SyntaxKind.DeclareKeyword)) continue;
    if (ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st)) continue;
    if (ts.isClassDeclaration(st) && st.name && elements.has(st.name.text)) continue;
    return true;
  }
  return false;
}

/**
 * Rewrites a module that defines custom elements, or returns null for any other module. Edits are placed by the
 * TypeScript AST and keep every line where it was (the existing source map stays valid):
 * - `#private` members become ordinary members named `__hmr_<Class>_<name>`, so methods of a newer version of the
 *   class, copied onto the class registered first, can reach the fields of instances that class made;
 * - `customElements.define` goes through the runtime, which patches the registered class on a re-run;
 * - each class's instance shape is registered, so the runtime knows when only a reload will do;
 * - `html`/`svg` templates from lit go through a tag that hands Lit the previous strings array when a template's
 *   text is unchanged, so an update re-renders only the templates that were edited;
 * - the module accepts its own hot updates.
 */
function transformLitModule(code: string, fileName: string): LitHmrTransform | null {
  const sf = ts.createSourceFile(fileName, code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const edits: Edit[] = [];
  const elements = new Set<string>();
  const tags = litTemplateTags(sf);
  const classes: { names: Set<string>; label: string }[] = [];
  let anonymous = 0;
  let templates = 0;
  let defines = 0;

  const mangled = (name: TS.PrivateIdentifier): string => {
    const text = name.text.slice(1);
    for (let i = classes.length - 1; i >= 0; i--) if (classes[i].names.has(name.text)) return `__hmr_${classes[i].label}_${text}`;
    return `__hmr_${text}`;
  };

  const visit = (node: TS.Node): void => {
    if (ts.isClassLike(node)) {
      const names = new Set<string>();
      for (const m of node.members) if (m.name && ts.isPrivateIdentifier(m.name)) names.add(m.name.text);
      const label = node.name?.text ?? `anonymous${anonymous++}`;
      classes.push({ names, label });
      ts.forEachChild(node, visit);
      classes.pop();
      if (node.name && ts.isClassDeclaration(node)) {
        edits.push({
          start: node.end,
          end: node.end,
          text: `;${NS}.shape(${node.name.text}, ${JSON.stringify(instanceShape(node, sf))});`,
        });
      }
      return;
    }
    if (ts.isPrivateIdentifier(node)) {
      // `#x in obj` is a brand check: the mangled member is tested by its name.
      const inCheck =
        ts.isBinaryExpression(node.parent) && node.parent.left === node && node.parent.operatorToken.kind === ts.SyntaxKind.InKeyword;
      const name = mangled(node);
      edits.push({ start: node.getStart(sf), end: node.end, text: inCheck ? JSON.stringify(name) : name });
      return;
    }
    if (isDefineCall(node)) {
      defines++;
      const cls = node.arguments[1];
      if (cls && ts.isIdentifier(cls)) elements.add(cls.text);
      edits.push({ start: node.expression.getStart(sf), end: node.expression.end, text: `${NS}.define(import.meta.hot)` });
    }
    if (ts.isTaggedTemplateExpression(node) && ts.isIdentifier(node.tag) && tags.has(node.tag.text)) {
      const key = `${fileName}#${templates++}`;
      edits.push({ start: node.tag.getStart(sf), end: node.tag.end, text: `${NS}.tag(${node.tag.text}, ${JSON.stringify(key)})` });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  if (defines === 0) return null;

  const otherExports = hasOtherExports(sf, elements);
  edits.sort((a, b) => b.start - a.start);
  let out = code;
  for (const e of edits) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  const onUpdate = otherExports
    ? `() => import.meta.hot.invalidate('exports values besides its elements; updating the modules that import them')`
    : '() => {}';
  out = `import * as ${NS} from '${LIT_HMR_RUNTIME_ID}';${out}\nif (import.meta.hot) import.meta.hot.accept(${onUpdate});\n`;
  return { code: out, elements: [...elements], otherExports };
}
