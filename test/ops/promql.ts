// Helpers for the operations tests: which metric names a PromQL expression reads, which
// names the catalogue exports, and whether an external tool is installed (a missing tool
// fails the test under CI=true and skips it with the install command otherwise).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import type { TestContext } from 'node:test';
import { exportedMetricNames } from '../../src/adapters/metrics.ts';

const promqlWords = new Set([
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan', 'le',
]);

/** Metric names an expression selects (functions, keywords, labels, durations removed). */
export function metricNamesInExpression(expression: string): string[] {
  let text = expression.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  text = text.replace(/\{[^}]*\}/g, ' ');
  text = text.replace(/\[[^\]]*\]/g, ' ');
  // Numbers and durations (0.99, 1e9, 5m, 1h30m) are not names.
  text = text.replace(/\b\d[\w.]*/g, ' ');
  text = text.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const match of text.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?/g)) {
    if (match[1] !== undefined) continue;
    const word = match[0];
    if (promqlWords.has(word.toLowerCase())) continue;
    if (/^\d/.test(word)) continue;
    names.add(word);
  }
  return [...names].sort();
}

/** Every series name the embedded catalogue can export, histogram suffixes included, plus `up`. */
export function exportedSeriesNames(): Set<string> {
  const names = new Set<string>(['up']);
  for (const name of exportedMetricNames('embedded')) {
    names.add(name);
    for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
  }
  return names;
}

/** True when `command probeArgs` runs; otherwise fails under CI and skips elsewhere. */
export function requireTool(t: TestContext, command: string, install: string, probeArgs: string[] = ['--version']): boolean {
  const probe = spawnSync(command, probeArgs, { encoding: 'utf8' });
  if (probe.error === undefined && probe.status === 0) return true;
  const message = `${command} is not installed (${install})`;
  if (process.env.CI === 'true') throw new Error(message);
  t.skip(message);
  return false;
}

/**
 * YAML parsing for tests: js-yaml (a dev dependency); it is loaded through require because it
 * ships no type declarations.
 */
export const yaml = createRequire(import.meta.url)('js-yaml') as { load(text: string): unknown; loadAll(text: string): unknown[] };
