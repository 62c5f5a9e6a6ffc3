// Figure templates for the rendered tables: "{key}" is replaced by the figure's value, so no
// figure is ever typed into a README by hand.
//   {key}        the value, 3 significant digits (integers ≥ 1,000 grouped: 3,499; tiny ones as 9.1 × 10⁻⁷)
//   {key:N}      N digits after the point            {key:int}  rounded, grouped
//   {key:pct}    × 100 with one decimal and " %"
//   {full:key}   the figure from the full-scale run instead of the quick one
//   [[ … ]]      an optional part: dropped when any figure inside is missing
// A figure missing outside [[ ]] renders as "n/a" and is reported in `missing`.
import type { FigureValue, Figures } from './results-store.js';

export interface FigureSets {
  quick: Figures;
  full: Figures;
}

const SUPERSCRIPT: Record<string, string> = {
  '-': '⁻',
  '0': '⁰',
  '1': '¹',
  '2': '²',
  '3': '³',
  '4': '⁴',
  '5': '⁵',
  '6': '⁶',
  '7': '⁷',
  '8': '⁸',
  '9': '⁹',
};

/** Formats one number the default way: 3 significant digits, thousands grouped, scientific under 10⁻³. */
export function formatNumber(x: number, format?: string): string {
  if (!Number.isFinite(x)) return String(x);
  if (format === 'int') return Math.round(x).toLocaleString('en-US');
  if (format === 'pct') return `${(x * 100).toFixed(1)} %`;
  if (format !== undefined && /^\d$/.test(format)) {
    const s = x.toFixed(Number(format));
    return Math.abs(x) >= 1000
      ? Number(s).toLocaleString('en-US', { minimumFractionDigits: Number(format), maximumFractionDigits: Number(format) })
      : s;
  }
  if (format !== undefined) throw new Error(`unknown figure format ":${format}"`);
  if (x !== 0 && Math.abs(x) < 1e-3) {
    const [mantissa, exp] = x.toExponential(1).split('e') as [string, string];
    return `${mantissa} × 10${[...String(Number(exp))].map((c) => SUPERSCRIPT[c]).join('')}`;
  }
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US');
  return String(+x.toPrecision(3));
}

function formatValue(v: FigureValue, format?: string): string | undefined {
  if (typeof v === 'number') return formatNumber(v, format);
  if (typeof v === 'string') return v;
  return undefined; // null or samples: not a figure to show
}

const PLACEHOLDER = /\{(?:(full):)?([A-Za-z0-9_.-]+)(?::([a-z0-9]+))?\}/g;

export interface Rendered {
  text: string;
  /** Figures the template named that the results do not hold (outside optional parts). */
  missing: string[];
}

function renderPlain(template: string, sets: FigureSets): Rendered {
  const missing: string[] = [];
  const text = template.replace(PLACEHOLDER, (_m, full: string | undefined, key: string, format: string | undefined) => {
    const v = (full ? sets.full : sets.quick)[key];
    const s = v === undefined ? undefined : formatValue(v, format);
    if (s === undefined) {
      missing.push(full ? `full:${key}` : key);
      return 'n/a';
    }
    return s;
  });
  return { text, missing };
}

/** Renders a template against the figures (see the module header for the syntax). */
export function renderTemplate(template: string, sets: FigureSets): Rendered {
  const withOptional = template.replace(/\[\[(.*?)\]\]/g, (_m, inner: string) => {
    const r = renderPlain(inner, sets);
    return r.missing.length ? '' : r.text;
  });
  return renderPlain(withOptional, sets);
}

/** The figure keys a template names (for tests and for checking that rows only name real figures). */
export function templateKeys(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => (m[1] ? `full:${m[2]}` : m[2]!));
}

/** Markdown table from rows of cells; `|` inside a cell is escaped. */
export function markdownTable(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
