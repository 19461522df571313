#!/usr/bin/env node
// The `bourse` command: dispatches subcommands to their TypeScript entry points (run
// through tsx). `bourse start` is the embedded exchange; other roles add theirs to
// `subcommands` (cluster, loadtest, ...).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** name -> [entry file relative to the package root, one-line description]. */
const subcommands = {
  start: ['src/main.ts', 'start the embedded exchange (every role in one process)'],
  cluster: ['src/cluster/up.ts', 'run the whole cluster on this machine (NATS, PostgreSQL, Redis, nginx)'],
  loadtest: ['src/tools/loadtest/main.ts', 'drive a running exchange with signed orders'],
};

function usage() {
  const lines = ['usage: bourse <command> [options]   (bourse <command> --help for details)', '', 'commands:'];
  for (const [name, [entry, description]] of Object.entries(subcommands)) {
    if (existsSync(join(root, entry))) lines.push(`  ${name.padEnd(10)} ${description}`);
  }
  return lines.join('\n');
}

const [name, ...rest] = process.argv.slice(2);
if (!name || name === '--help' || name === '-h' || name === 'help') {
  console.log(usage());
  process.exit(name ? 0 : 1);
}
const entry = subcommands[name];
if (!entry || !existsSync(join(root, entry[0]))) {
  console.error(`bourse: unknown command "${name}"\n\n${usage()}`);
  process.exit(1);
}
// Resolved from this file, so `bourse` works from any working directory.
const tsxLoader = import.meta.resolve('tsx');
const child = spawn(process.execPath, ['--import', tsxLoader, join(root, entry[0]), ...rest], { stdio: 'inherit', cwd: process.cwd() });
// Signals reach the child through the terminal's process group; forward the ones sent to us alone.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => {
  if (signal) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});
