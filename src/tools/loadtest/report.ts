// The self-contained HTML report of a load test: inline SVG charts (no scripts, fonts or
// files from anywhere else), so it opens offline and can be attached to an issue.
import type { LoadtestResult } from './result.ts';

export const chartIds = ['chart-throughput', 'chart-latency-over-time', 'chart-latency-distribution', 'chart-market-data', 'chart-errors'] as const;

const width = 760;
const height = 280;
const margin = { left: 64, right: 16, top: 16, bottom: 44 };
/** Horizontal grid lines; niceMaximum's steps (1, 2, 2.5, 5) divide by five evenly. */
const yDivisions = 5;
const palette = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2'];

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

function niceMaximum(value: number): number {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * magnitude) return step * magnitude;
  return 10 * magnitude;
}

function formatTick(value: number): string {
  if (value === 0) return '0';
  if (Math.abs(value) >= 1000) return `${Math.round(value / 100) / 10}k`;
  if (Math.abs(value) >= 10) return String(Math.round(value));
  return String(Math.round(value * 100) / 100);
}

interface Series {
  name: string;
  points: [number, number][];
}

interface AxisOptions {
  xLabel: string;
  yLabel: string;
  /** Labels for x tick positions (defaults to numbers). */
  xTicks?: { value: number; label: string }[];
  xMaximum?: number;
}

function frame(axis: AxisOptions, xMaximum: number, yMaximum: number, body: string, legend: string[]): string {
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const parts: string[] = [];
  for (let index = 0; index <= yDivisions; index++) {
    const y = margin.top + plotHeight - (plotHeight * index) / yDivisions;
    parts.push(`<line x1="${margin.left}" x2="${width - margin.right}" y1="${y}" y2="${y}" stroke="#e5e7eb"/>`);
    parts.push(`<text x="${margin.left - 6}" y="${y + 4}" text-anchor="end">${formatTick((yMaximum * index) / yDivisions)}</text>`);
  }
  const xStep = xMaximum >= 5 ? Math.max(1, Math.round(xMaximum / 10)) : xMaximum / 5;
  const xTicks = axis.xTicks ?? Array.from({ length: Math.floor(xMaximum / xStep) + 1 }, (_, index) => ({ value: index * xStep, label: formatTick(index * xStep) }));
  for (const tick of xTicks) {
    const x = margin.left + (plotWidth * tick.value) / (xMaximum || 1);
    parts.push(`<text x="${x}" y="${height - margin.bottom + 16}" text-anchor="middle">${escapeHtml(tick.label)}</text>`);
  }
  parts.push(`<text x="${margin.left + plotWidth / 2}" y="${height - 6}" text-anchor="middle">${escapeHtml(axis.xLabel)}</text>`);
  parts.push(`<text transform="translate(14 ${margin.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">${escapeHtml(axis.yLabel)}</text>`);
  parts.push(`<rect x="${margin.left}" y="${margin.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#9ca3af"/>`);
  legend.forEach((name, index) => {
    const x = margin.left + 10 + index * 150;
    parts.push(`<rect x="${x}" y="${margin.top + 6}" width="10" height="10" fill="${palette[index % palette.length]}"/><text x="${x + 14}" y="${margin.top + 15}">${escapeHtml(name)}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" font-family="sans-serif" font-size="11">${parts.join('')}${body}</svg>`;
}

export function lineChart(series: Series[], axis: AxisOptions): string {
  const all = series.flatMap((line) => line.points);
  const xMaximum = axis.xMaximum ?? Math.max(1, ...all.map(([x]) => x));
  const yMaximum = niceMaximum(Math.max(0, ...all.map(([, y]) => y)));
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const body = series
    .map((line, index) => {
      if (line.points.length === 0) return '';
      const path = line.points
        .map(([x, y], pointIndex) => `${pointIndex === 0 ? 'M' : 'L'}${(margin.left + (plotWidth * x) / xMaximum).toFixed(1)},${(margin.top + plotHeight - (plotHeight * y) / yMaximum).toFixed(1)}`)
        .join(' ');
      return `<path d="${path}" fill="none" stroke="${palette[index % palette.length]}" stroke-width="1.8"><title>${escapeHtml(line.name)}</title></path>`;
    })
    .join('');
  return frame(axis, xMaximum, yMaximum, body, series.map((line) => line.name));
}

export function barChart(bars: { label: string; value: number }[], axis: AxisOptions): string {
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const yMaximum = niceMaximum(Math.max(0, ...bars.map((bar) => bar.value)));
  const slot = plotWidth / Math.max(1, bars.length);
  const body = bars
    .map((bar, index) => {
      const barHeight = (plotHeight * bar.value) / yMaximum;
      const x = margin.left + index * slot + slot * 0.15;
      return `<rect x="${x.toFixed(1)}" y="${(margin.top + plotHeight - barHeight).toFixed(1)}" width="${(slot * 0.7).toFixed(1)}" height="${barHeight.toFixed(1)}" fill="${palette[1]}"><title>${escapeHtml(bar.label)}: ${bar.value}</title></rect>`;
    })
    .join('');
  const ticks = bars.map((bar, index) => ({ value: index + 0.5, label: bar.label }));
  return frame({ ...axis, xTicks: ticks }, Math.max(1, bars.length), yMaximum, body, []);
}

/** Percentile spectrum: x is log10(1 / (1 - p)), so 90%, 99%, 99.9% are evenly spaced. */
function percentileX(percentile: number): number {
  const capped = Math.min(percentile, 99.999);
  return Math.log10(100 / (100 - capped));
}

function distributionChart(series: { name: string; points: { percentile: number; latencyMs: number }[] }[]): string {
  const xMaximum = percentileX(99.999);
  const ticks = [0, 90, 99, 99.9, 99.99].map((percentile) => ({ value: percentileX(percentile), label: `${percentile}%` }));
  return lineChart(
    series.map((line) => ({ name: line.name, points: line.points.map((point) => [percentileX(point.percentile), point.latencyMs] as [number, number]) })),
    { xLabel: 'percentile', yLabel: 'latency (ms)', xTicks: ticks, xMaximum },
  );
}

function figure(id: string, title: string, caption: string, svg: string): string {
  return `<figure id="${id}"><h2>${escapeHtml(title)}</h2>${svg}<figcaption>${escapeHtml(caption)}</figcaption></figure>`;
}

function summaryTable(result: LoadtestResult): string {
  const rows: [string, string][] = [
    ['target', result.url],
    ['duration', `${result.durationSeconds} s`],
    ['mode', result.mode === 'open' ? `open loop at ${result.options.ratePerSecond} orders/s (coordinated omission corrected)` : `closed loop, ${result.options.concurrency} workers (not corrected)`],
    ['users / markets / subscribers', `${result.options.users} / ${result.markets.join(', ')} / ${result.marketData.subscribersConnected} of ${result.options.subscribers}`],
    ['requests', `${result.requests.sent} sent, ${result.requests.ok} ok, ${result.requests.errors} errors`],
    ['throughput', `${result.throughputPerSecond} ok/s`],
    ['latency (ms)', `p50 ${result.latencyMs.p50}, p90 ${result.latencyMs.p90}, p99 ${result.latencyMs.p99}, p99.9 ${result.latencyMs.p999}, max ${result.latencyMs.max}`],
    ['market-data delivery (ms)', `p50 ${result.marketData.latencyMs.p50}, p99 ${result.marketData.latencyMs.p99}, max ${result.marketData.latencyMs.max} over ${result.marketData.messages} messages`],
    ['conservation', result.conservation],
  ];
  return `<table>${rows.map(([name, value]) => `<tr><th>${escapeHtml(name)}</th><td>${escapeHtml(value)}</td></tr>`).join('')}</table>`;
}

export function renderReport(result: LoadtestResult): string {
  const timeline = result.timeline;
  const throughput = lineChart(
    [
      { name: 'ok/s', points: timeline.map((point) => [point.second, point.ok]) },
      { name: 'errors/s', points: timeline.map((point) => [point.second, point.errors]) },
      { name: 'sent/s', points: timeline.map((point) => [point.second, point.sent]) },
    ],
    { xLabel: 'seconds', yLabel: 'requests per second' },
  );
  const latencyOverTime = lineChart(
    [
      { name: 'p50', points: timeline.map((point) => [point.second, point.p50Ms]) },
      { name: 'p99', points: timeline.map((point) => [point.second, point.p99Ms]) },
      { name: 'max', points: timeline.map((point) => [point.second, point.maxMs]) },
    ],
    { xLabel: 'seconds', yLabel: 'latency (ms)' },
  );
  const distribution = distributionChart([
    { name: 'all orders', points: result.latencyDistribution },
    ...Object.entries(result.byKind).map(([kind, summary]) => ({ name: kind, points: summary.distribution })),
  ]);
  const marketData = lineChart(
    [
      { name: 'p50', points: timeline.map((point) => [point.second, point.marketDataP50Ms]) },
      { name: 'p99', points: timeline.map((point) => [point.second, point.marketDataP99Ms]) },
    ],
    { xLabel: 'seconds', yLabel: 'event to client (ms)' },
  );
  const errorBars = Object.entries(result.errorsByCode)
    .sort((left, right) => right[1] - left[1])
    .slice(0, 12)
    .map(([label, value]) => ({ label, value }));
  const errors = barChart(errorBars.length > 0 ? errorBars : [{ label: 'no errors', value: 0 }], { xLabel: 'HTTP status / API code', yLabel: 'count' });
  const verdictClass = result.conservation === 'PASS' ? 'pass' : 'fail';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Bourse load test ${escapeHtml(result.startedAt)}</title>
<style>body{font-family:sans-serif;margin:24px;color:#111827;max-width:820px}table{border-collapse:collapse;margin-bottom:16px}th,td{text-align:left;padding:3px 10px;border-bottom:1px solid #e5e7eb}figure{margin:24px 0}h2{font-size:16px}.pass{color:#16a34a}.fail{color:#dc2626}figcaption{color:#6b7280;font-size:12px}</style>
</head><body>
<h1>Bourse load test</h1>
<p>Started ${escapeHtml(result.startedAt)}. Conservation: <strong class="${verdictClass}">${result.conservation}</strong></p>
${summaryTable(result)}
${figure('chart-throughput', 'Throughput over time', 'Requests answered successfully, failed and sent in each second.', throughput)}
${figure('chart-latency-over-time', 'Latency percentiles over time', 'Per one-second interval, measured from each request\'s intended start time.', latencyOverTime)}
${figure('chart-latency-distribution', 'Latency distribution', 'Percentile spectrum of the whole run, all orders and by order type (x: 90%, 99%, 99.9%... evenly spaced).', distribution)}
${figure('chart-market-data', 'Market-data delivery latency', `Event time (E) to receipt by ${result.marketData.subscribersConnected} WebSocket subscriber(s), per second.`, marketData)}
${figure('chart-errors', 'Errors by code', 'HTTP status / Binance error code, or client-side failures (network, backlog).', errors)}
</body></html>
`;
}
