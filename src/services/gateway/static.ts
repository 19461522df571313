// Serves the built web UI (web/dist) at `/`: the static content of the architecture.
// Content-hashed files under /assets/ are immutable and cached for a year by browsers,
// nginx and any CDN; index.html (and other unhashed files) are revalidated on every load
// with an ETag. Precompressed .br/.gz variants written by the build are chosen by
// Accept-Encoding, with `Vary: Accept-Encoding` so shared caches keep them apart.
// Unknown non-API paths fall back to index.html so deep links into the single-page app work.

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Files above this size are not held in memory (the UI build has none near it). */
export const staticFileBytesMax = 8 * 1024 * 1024;
/** Files in one site; a guard against pointing `root` at a huge directory by mistake. */
export const staticFilesMax = 2000;
/** How often a missing or rebuilt site is looked for again, at most. */
export const staticRescanIntervalMs = 1000;

export const immutableCacheControl = 'public, max-age=31536000, immutable';
export const revalidateCacheControl = 'no-cache';

/** Path prefixes that belong to the APIs: never answered with the SPA's index.html. */
const apiPathPrefixes = ['/api', '/admin/v1', '/ws', '/stream', '/metrics', '/health'];

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

type Encoding = 'br' | 'gzip';

interface StaticFile {
  body: Buffer;
  contentType: string;
  etag: string;
  immutable: boolean;
  variants: Partial<Record<Encoding, Buffer>>;
}

export interface StaticAssetsOptions {
  /** Directory holding the build output (index.html, assets/). */
  root: string;
  /**
   * Called when `root` has no index.html yet (fresh clone): typically starts the UI
   * build in the background. Requests meanwhile get a small self-refreshing page.
   */
  onMissing?: () => void;
}

/** A content-hashed build file: Vite writes them as assets/<name>-<hash>.<ext>. */
export function isHashedAssetPath(urlPath: string): boolean {
  return /^\/assets\/.+-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/.test(urlPath);
}

/** Picks the best precompressed variant the client accepts (q-values honoured; br first). */
export function chooseEncoding(acceptEncoding: string | undefined, available: Partial<Record<Encoding, Buffer>>): Encoding | null {
  if (!acceptEncoding) return null;
  const accepted = new Map<string, number>();
  for (const part of acceptEncoding.split(',')) {
    const [name, ...parameters] = part.trim().toLowerCase().split(';');
    if (!name) continue;
    let quality = 1;
    for (const parameter of parameters) {
      const [key, value] = parameter.trim().split('=');
      if (key === 'q' && value !== undefined) quality = Number(value);
    }
    accepted.set(name, Number.isFinite(quality) ? quality : 0);
  }
  const wildcard = accepted.get('*') ?? 0;
  let best: Encoding | null = null;
  let bestQuality = 0;
  for (const encoding of ['br', 'gzip'] as const) {
    if (!available[encoding]) continue;
    const quality = accepted.get(encoding) ?? wildcard;
    if (quality > bestQuality) {
      best = encoding;
      bestQuality = quality;
    }
  }
  return best;
}

function etagOf(body: Buffer): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
}

/** Reads the whole build into memory: it is small, immutable once written, and hot. */
export function loadSite(root: string): Map<string, StaticFile> | null {
  let rootStat;
  try {
    rootStat = statSync(join(root, 'index.html'));
  } catch {
    return null;
  }
  if (!rootStat.isFile()) return null;
  const files = new Map<string, StaticFile>();
  const walk = (directory: string): void => {
    for (const name of readdirSync(directory)) {
      const path = join(directory, name);
      const stat = statSync(path);
      if (stat.isDirectory()) {
        walk(path);
        continue;
      }
      if (name.endsWith('.br') || name.endsWith('.gz')) continue;
      if (stat.size > staticFileBytesMax) continue;
      if (files.size >= staticFilesMax) throw new Error(`static root ${root} holds more than ${staticFilesMax} files`);
      const urlPath = '/' + relative(root, path).split(sep).join('/');
      const body = readFileSync(path);
      const variants: Partial<Record<Encoding, Buffer>> = {};
      for (const [encoding, suffix] of [['br', '.br'], ['gzip', '.gz']] as const) {
        try {
          variants[encoding] = readFileSync(path + suffix);
        } catch {
          // No precompressed variant for this file (small or binary): served as is.
        }
      }
      files.set(urlPath, {
        body,
        contentType: contentTypes[extname(name).toLowerCase()] ?? 'application/octet-stream',
        etag: etagOf(body),
        immutable: isHashedAssetPath(urlPath),
        variants,
      });
    }
  };
  walk(root);
  return files;
}

const buildingPage = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="3">
<title>Bourse</title><style>body{background:#0b0e11;color:#c9d1d9;font:14px system-ui,sans-serif;display:grid;place-items:center;height:100vh;margin:0}</style>
</head><body><p>The web UI is being built (first start). This page reloads itself.</p></body></html>`;

function isApiPath(urlPath: string): boolean {
  return apiPathPrefixes.some((prefix) => urlPath === prefix || urlPath.startsWith(`${prefix}/`));
}

function send(request: FastifyRequest, reply: FastifyReply, file: StaticFile): FastifyReply {
  reply.header('Content-Type', file.contentType);
  reply.header('Cache-Control', file.immutable ? immutableCacheControl : revalidateCacheControl);
  reply.header('ETag', file.etag);
  if (file.variants.br || file.variants.gzip) reply.header('Vary', 'Accept-Encoding');
  reply.header('X-Content-Type-Options', 'nosniff');
  const ifNoneMatch = request.headers['if-none-match'];
  if (ifNoneMatch && ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === file.etag)) {
    return reply.code(304).send();
  }
  const encoding = chooseEncoding(request.headers['accept-encoding'], file.variants);
  const body = encoding ? file.variants[encoding]! : file.body;
  if (encoding) reply.header('Content-Encoding', encoding);
  reply.header('Content-Length', body.length);
  return reply.send(body);
}

/**
 * Registers `GET /*` for the UI. API paths that match no API route are passed to the
 * app's not-found handler, so unknown API URLs keep their JSON errors.
 */
export function registerStaticAssets(app: FastifyInstance, options: StaticAssetsOptions): void {
  let site = loadSite(options.root);
  let lastScanMs = Date.now();
  let missingReported = false;
  if (!site && options.onMissing) {
    missingReported = true;
    options.onMissing();
  }

  const currentSite = (): Map<string, StaticFile> | null => {
    const nowMs = Date.now();
    if (nowMs - lastScanMs >= staticRescanIntervalMs) {
      lastScanMs = nowMs;
      // A rebuild replaces index.html; reload when it changed so new hashes are served.
      const index = site?.get('/index.html');
      let indexChanged = !site;
      if (index) {
        try {
          indexChanged = etagOf(readFileSync(join(options.root, 'index.html'))) !== index.etag;
        } catch {
          indexChanged = true;
        }
      }
      if (indexChanged) site = loadSite(options.root) ?? site;
      if (!site && options.onMissing && !missingReported) {
        missingReported = true;
        options.onMissing();
      }
    }
    return site;
  };

  app.get('/*', async (request, reply) => {
    let urlPath: string;
    try {
      urlPath = decodeURIComponent(request.url.split('?')[0] ?? '/');
    } catch {
      return reply.callNotFound();
    }
    if (isApiPath(urlPath)) return reply.callNotFound();
    const files = currentSite();
    if (!files) {
      return reply.code(503).header('Cache-Control', 'no-store').header('Retry-After', '3').type('text/html; charset=utf-8').send(buildingPage);
    }
    const exact = files.get(urlPath === '/' ? '/index.html' : urlPath);
    if (exact) return send(request, reply, exact);
    // A missing hashed asset must be a 404, never index.html: a CDN would cache the
    // HTML under a script's URL forever.
    if (urlPath.startsWith('/assets/') || extname(urlPath) !== '') return reply.callNotFound();
    return send(request, reply, files.get('/index.html')!);
  });
}
