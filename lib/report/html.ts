// Self-contained HTML reports: inline SVG line charts and tables, inline CSS, no scripts, no
// external resources (the file opens anywhere, offline, and can be mailed as is).

export interface Series {
  name: string;
  /** [x, y] points; non-finite values are skipped (they break the line). */
  points: [number, number][];
  /** Dashed stroke (e.g. for a second kind of measurement on the same axes). */
  dashed?: boolean;
  /** Stroke colour (default: the palette, by series index). */
  color?: string;
  /** SVG stroke-dasharray (overrides `dashed`), e.g. '2 3' for dots. */
  dash?: string;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  width?: number;
  height?: number;
  /** Fixed y range (default: the data's range with a margin). */
  yMin?: number;
  yMax?: number;
  /** Format of y tick labels (default: up to 4 significant digits). */
  yFormat?: (v: number) => string;
  /** A note under the title (e.g. what a zoomed view leaves out). */
  note?: string;
}

export interface Section {
  heading: string;
  /** Already-safe HTML (charts, tables); use escapeHtml() on any text that goes in. */
  html: string;
}

export interface ReportOptions {
  title: string;
  subtitle?: string;
  sections: Section[];
}

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

export function escapeHtml(s: unknown): string {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** About `count` round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(Number.isFinite(lo) && Number.isFinite(hi))) return [];
  if (hi === lo) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const norm = raw / mag;
  const step = (norm <= 1 + 1e-9 ? 1 : norm <= 2 + 1e-9 ? 2 : norm <= 5 + 1e-9 ? 5 : 10) * mag;
  const ticks: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) ticks.push(+(k * step).toPrecision(12));
  return ticks;
}

function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(1);
  return String(+v.toPrecision(4));
}

let chartCount = 0;

/** An inline SVG line chart (axes, ticks, grid, legend). */
export function lineChartSvg(opts: LineChartOptions): string {
  const W = opts.width ?? 640;
  const m = { left: 64, right: 16, top: 34, bottom: opts.note ? 60 : 46 };
  // Legend entries flow left to right (about 6.5 px per character at font size 11), wrapping rows.
  const legend: [number, number][] = [];
  let lx = m.left, row = 0;
  for (const s of opts.series) {
    const w = 24 + Math.ceil(s.name.length * 6.5) + 16;
    if (lx > m.left && lx + w > W - m.right) { lx = m.left; row++; }
    legend.push([lx, m.top - 4 + row * 16]);
    lx += w;
  }
  const top = m.top + (opts.series.length ? row + 1 : 0) * 16;
  // every legend row beyond the first makes the chart taller, so the plot keeps its height
  const H = (opts.height ?? 320) + row * 16;
  const pw = W - m.left - m.right, ph = H - top - m.bottom;
  const pts = opts.series.flatMap((s) => s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)));
  let x0 = Math.min(...pts.map((p) => p[0])), x1 = Math.max(...pts.map((p) => p[0]));
  let y0 = opts.yMin ?? Math.min(...pts.map((p) => p[1])), y1 = opts.yMax ?? Math.max(...pts.map((p) => p[1]));
  if (!pts.length) { x0 = 0; x1 = 1; y0 = opts.yMin ?? 0; y1 = opts.yMax ?? 1; }
  if (x1 === x0) { x0 -= 0.5; x1 += 0.5; }
  if (y1 === y0) { const d = Math.abs(y0) * 0.05 || 0.5; y0 -= d; y1 += d; }
  if (opts.yMin === undefined || opts.yMax === undefined) {
    const pad = (y1 - y0) * 0.05;
    if (opts.yMin === undefined) y0 -= pad;
    if (opts.yMax === undefined) y1 += pad;
  }
  const sx = (x: number) => m.left + ((x - x0) / (x1 - x0)) * pw;
  const sy = (y: number) => top + (1 - (y - y0) / (y1 - y0)) * ph;
  const yf = opts.yFormat ?? fmt;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeHtml(opts.title)}">`);
  out.push(`<title>${escapeHtml(opts.title)}</title>`);
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="${W / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${escapeHtml(opts.title)}</text>`);
  if (opts.note) out.push(`<text x="${W / 2}" y="${H - 6}" text-anchor="middle" font-size="10" fill="#666">${escapeHtml(opts.note)}</text>`);
  // Lines outside a fixed y range are cut at the plot's edges.
  const clipId = `plot-${++chartCount}`;
  out.push(`<clipPath id="${clipId}"><rect x="${m.left}" y="${top}" width="${pw}" height="${ph}"/></clipPath>`);
  for (const t of niceTicks(y0, y1)) {
    const y = sy(t).toFixed(1);
    out.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${m.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" font-size="11">${escapeHtml(yf(t))}</text>`);
  }
  for (const t of niceTicks(x0, x1, 6)) {
    const x = sx(t).toFixed(1);
    out.push(`<line x1="${x}" x2="${x}" y1="${top}" y2="${top + ph}" stroke="#f0f0f0"/>`);
    out.push(`<text x="${x}" y="${top + ph + 16}" text-anchor="middle" font-size="11">${escapeHtml(fmt(t))}</text>`);
  }
  out.push(`<rect x="${m.left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${m.left + pw / 2}" y="${H - (opts.note ? 22 : 8)}" text-anchor="middle" font-size="12">${escapeHtml(opts.xLabel)}</text>`);
  out.push(`<text x="14" y="${top + ph / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 14 ${top + ph / 2})">${escapeHtml(opts.yLabel)}</text>`);
  opts.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    // Split at non-finite points so that gaps show as gaps.
    const runs: [number, number][][] = [[]];
    for (const [x, y] of s.points) {
      if (Number.isFinite(x) && Number.isFinite(y)) runs[runs.length - 1].push([x, y]);
      else if (runs[runs.length - 1].length) runs.push([]);
    }
    const dash = s.dash ? ` stroke-dasharray="${escapeHtml(s.dash)}"` : s.dashed ? ' stroke-dasharray="6 4"' : '';
    out.push(`<g clip-path="url(#${clipId})">`);
    for (const run of runs) {
      if (run.length === 1) {
        out.push(`<circle cx="${sx(run[0][0]).toFixed(1)}" cy="${sy(run[0][1]).toFixed(1)}" r="3" fill="${color}"/>`);
      } else if (run.length > 1) {
        const d = run.map(([x, y], k) => `${k ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join('');
        out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.8"${dash}/>`);
        if (run.length <= 30) for (const [x, y] of run) out.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.5" fill="${color}"/>`);
      }
    }
    out.push('</g>');
    const [lx, ly] = legend[i];
    out.push(`<line x1="${lx}" x2="${lx + 18}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2.5"${dash}/>`);
    out.push(`<text x="${lx + 24}" y="${ly}" dominant-baseline="middle" font-size="11">${escapeHtml(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

/** An HTML table; the first row is the header. Cells are escaped. */
export function tableHtml(rows: (string | number)[][]): string {
  if (!rows.length) return '<table></table>';
  const [head, ...body] = rows;
  const tr = (r: (string | number)[], tag: 'th' | 'td') => `<tr>${r.map((c) => `<${tag}>${escapeHtml(c)}</${tag}>`).join('')}</tr>`;
  return `<table>\n<thead>${tr(head, 'th')}</thead>\n<tbody>\n${body.map((r) => tr(r, 'td')).join('\n')}\n</tbody>\n</table>`;
}

/** A <dl> of key/value pairs (escaped). */
export function keyValueHtml(pairs: [string, string | number][]): string {
  return `<dl class="kv">${pairs.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>`;
}

export function preHtml(text: string): string {
  return `<pre>${escapeHtml(text)}</pre>`;
}

const CSS = `
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px auto; max-width: 1000px; color: #222; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.subtitle { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 4px 10px; text-align: left; } th { background: #f3f3f3; }
dl.kv { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; font-size: 13px; }
dl.kv dt { font-weight: bold; } dl.kv dd { margin: 0; font-family: monospace; }
pre { background: #f7f7f7; padding: 8px; font-size: 12px; overflow-x: auto; }
svg.chart { display: block; margin: 8px 0; max-width: 100%; height: auto; }
.multiples { display: flex; flex-wrap: wrap; gap: 8px; } .multiples svg.chart { margin: 0; }
`;

/** A complete, self-contained HTML document. */
export function htmlReport(opts: ReportOptions): string {
  const parts = [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(opts.title)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    `<h1>${escapeHtml(opts.title)}</h1>`,
  ];
  if (opts.subtitle) parts.push(`<p class="subtitle">${escapeHtml(opts.subtitle)}</p>`);
  for (const s of opts.sections) parts.push(`<section>\n<h2>${escapeHtml(s.heading)}</h2>\n${s.html}\n</section>`);
  parts.push(`<p class="subtitle">Generated by fractional-snn on ${escapeHtml(new Date().toISOString())}.</p>`);
  parts.push('</body>', '</html>', '');
  return parts.join('\n');
}
