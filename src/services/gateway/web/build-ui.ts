// Builds the web UI (web/ -> web/dist) when a fresh clone starts without it, so
// `npm ci && npm start` opens onto a working UI with no extra step. The build writes into
// a private temporary directory and is renamed into place, and a lock directory keeps
// concurrent starts (parallel tests, several gateways) from building twice at once.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../../../adapters/logger.ts';

const logger = createLogger('web-build');

/** A lock older than this belongs to a build that died: it is broken and taken over. */
export const buildLockStaleMs = 5 * 60_000;
/** How long `ensureWebBuilt` waits for another process's build before giving up. */
export const buildWaitMsMax = 5 * 60_000;
const buildPollIntervalMs = 250;

/** The repository's web/ directory, found from this file's location. */
export const defaultWebDirectory = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../web');

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function tryLock(lockPath: string): boolean {
  try {
    mkdirSync(lockPath);
    writeFileSync(join(lockPath, 'pid'), String(process.pid));
    return true;
  } catch {
    // Someone holds it: take it over only when its owner is gone or it is stale.
    let ownerPid = 0;
    try {
      ownerPid = Number(readFileSync(join(lockPath, 'pid'), 'utf8'));
    } catch {
      // The owner may be between mkdir and writeFile; judge by age alone.
    }
    let ageMs = 0;
    try {
      ageMs = Date.now() - statSync(lockPath).mtimeMs;
    } catch {
      return false;
    }
    const ownerGone = ownerPid > 0 && !processAlive(ownerPid);
    if (ownerGone || ageMs > buildLockStaleMs) {
      rmSync(lockPath, { recursive: true, force: true });
      return tryLock(lockPath);
    }
    return false;
  }
}

function runViteBuild(webDirectory: string, outDirectory: string): Promise<void> {
  const viteBin = resolve(webDirectory, '../node_modules/vite/bin/vite.js');
  const localViteBin = resolve(webDirectory, 'node_modules/vite/bin/vite.js');
  const bin = existsSync(localViteBin) ? localViteBin : viteBin;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [bin, 'build', '--outDir', outDirectory, '--emptyOutDir', '--logLevel', 'warn'], {
      cwd: webDirectory,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolvePromise() : reject(new Error(`vite build exited with ${code}`))));
  });
}

/** The UI's sources: what a build reads besides node_modules. */
const webSourceEntries = ['src', 'public', 'index.html', 'package.json', 'vite.config.ts', 'tsconfig.json'];

/** The newest modification time (ms) of a file or of any file below a directory; 0 when missing. */
function newestModificationMs(path: string): number {
  let stats;
  try {
    stats = statSync(path);
  } catch {
    return 0;
  }
  if (!stats.isDirectory()) return stats.mtimeMs;
  let newest = stats.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestModificationMs(join(path, name)));
  return newest;
}

/**
 * Whether `<webDirectory>/dist` holds a build at least as new as every UI source file: a
 * missing build, or a source edited after it, needs a build (so `npm start` after editing
 * web/src serves the edit, not yesterday's bundle).
 */
export function webBuildIsCurrent(webDirectory = defaultWebDirectory): boolean {
  let builtMs: number;
  try {
    builtMs = statSync(join(webDirectory, 'dist', 'index.html')).mtimeMs;
  } catch {
    return false;
  }
  for (const entry of webSourceEntries) if (newestModificationMs(join(webDirectory, entry)) > builtMs) return false;
  return true;
}

/**
 * Makes sure `<webDirectory>/dist` holds a current build (see webBuildIsCurrent), building
 * it if needed. Resolves once one exists (built here, or by a concurrent process: while
 * another process rebuilds, an older build that exists is good enough to serve).
 */
export async function ensureWebBuilt(webDirectory = defaultWebDirectory): Promise<void> {
  const distDirectory = join(webDirectory, 'dist');
  if (webBuildIsCurrent(webDirectory)) return;
  const lockPath = join(webDirectory, '.build-lock');
  const deadlineMs = Date.now() + buildWaitMsMax;
  while (!tryLock(lockPath)) {
    if (existsSync(join(distDirectory, 'index.html'))) return;
    if (Date.now() > deadlineMs) throw new Error(`timed out waiting for another process to build ${distDirectory}`);
    await new Promise((wake) => setTimeout(wake, buildPollIntervalMs));
  }
  try {
    if (webBuildIsCurrent(webDirectory)) return;
    const temporaryDirectory = join(webDirectory, `.dist-build-${process.pid}`);
    const rebuild = existsSync(join(distDirectory, 'index.html'));
    logger.info({ webDirectory }, rebuild ? 'rebuilding the web UI (its sources changed since the last build)' : 'building the web UI (first start)');
    const startedMs = Date.now();
    await runViteBuild(webDirectory, temporaryDirectory);
    rmSync(distDirectory, { recursive: true, force: true });
    renameSync(temporaryDirectory, distDirectory);
    logger.info({ elapsedMs: Date.now() - startedMs }, 'web UI built');
  } finally {
    rmSync(lockPath, { recursive: true, force: true });
  }
}

/** Starts `ensureWebBuilt` without waiting; failures are logged, never thrown. */
export function startWebBuildInBackground(webDirectory = defaultWebDirectory): void {
  ensureWebBuilt(webDirectory).catch((error: unknown) => {
    logger.error({ err: error }, 'web UI build failed; run `npm run build:web` to see why');
  });
}
