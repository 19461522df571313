// The built UI as static content: content-hashed file names, immutable caching for them,
// no-cache + ETag (304) for index.html, precompressed brotli/gzip chosen by
// Accept-Encoding with Vary, SPA fallback for deep links, and API paths left to the API.
import { before, after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { chooseEncoding, immutableCacheControl, isHashedAssetPath, registerStaticAssets } from '../../src/services/gateway/static.ts';
import { defaultWebDirectory, ensureWebBuilt } from '../../src/services/gateway/web/build-ui.ts';

/** The budget for the trading screen's first load, compressed JS + CSS. */
const firstLoadBytesMax = 300 * 1024;
const distDirectory = join(defaultWebDirectory, 'dist');

describe('static UI assets', { timeout: 120_000 }, () => {
  let app: FastifyInstance;

  before(async () => {
    await ensureWebBuilt();
    app = Fastify();
    app.get('/api/v3/ping', async () => ({}));
    app.setNotFoundHandler((request, reply) => reply.code(404).send({ code: -1099, msg: `Not found: ${request.url}` }));
    registerStaticAssets(app, { root: distDirectory });
    await app.ready();
  });

  after(async () => {
    await app?.close();
  });

  test('every built asset carries a content hash and index.html references only those', () => {
    const assets = readdirSync(join(distDirectory, 'assets')).filter((name) => !name.endsWith('.br') && !name.endsWith('.gz'));
    assert.ok(assets.some((name) => name.endsWith('.js')) && assets.some((name) => name.endsWith('.css')), assets.join(', '));
    for (const name of assets) assert.ok(isHashedAssetPath(`/assets/${name}`), `${name} has a content hash`);
    const html = readFileSync(join(distDirectory, 'index.html'), 'utf8');
    const referenced = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((match) => match[1]!);
    assert.ok(referenced.length >= 2, html);
    for (const path of referenced) assert.ok(isHashedAssetPath(path), path);
  });

  test('hashed assets are immutable and served precompressed by Accept-Encoding', async () => {
    const html = readFileSync(join(distDirectory, 'index.html'), 'utf8');
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const original = readFileSync(join(distDirectory, script));

    const brotli = await app.inject({ url: script, headers: { 'accept-encoding': 'gzip, deflate, br' } });
    assert.equal(brotli.statusCode, 200);
    assert.equal(brotli.headers['cache-control'], immutableCacheControl);
    assert.equal(brotli.headers['content-encoding'], 'br');
    assert.equal(brotli.headers.vary, 'Accept-Encoding');
    assert.match(String(brotli.headers['content-type']), /^text\/javascript/);
    assert.deepEqual(brotliDecompressSync(brotli.rawPayload), original);

    const gzip = await app.inject({ url: script, headers: { 'accept-encoding': 'gzip' } });
    assert.equal(gzip.headers['content-encoding'], 'gzip');
    assert.deepEqual(gunzipSync(gzip.rawPayload), original);

    const refusedBrotli = await app.inject({ url: script, headers: { 'accept-encoding': 'br;q=0, gzip;q=0.5' } });
    assert.equal(refusedBrotli.headers['content-encoding'], 'gzip');

    const identity = await app.inject({ url: script });
    assert.equal(identity.headers['content-encoding'], undefined);
    assert.deepEqual(identity.rawPayload, original);
    assert.equal(identity.headers['cache-control'], immutableCacheControl);
  });

  test('index.html is revalidated with an ETag and answers 304 when unchanged', async () => {
    const first = await app.inject({ url: '/', headers: { 'accept-encoding': 'br' } });
    assert.equal(first.statusCode, 200);
    assert.equal(first.headers['cache-control'], 'no-cache');
    const etag = first.headers.etag as string;
    assert.match(etag, /^"[A-Za-z0-9_-]+"$/);
    const again = await app.inject({ url: '/', headers: { 'if-none-match': etag } });
    assert.equal(again.statusCode, 304);
    assert.equal(again.body, '');
    const changed = await app.inject({ url: '/', headers: { 'if-none-match': '"something-else"' } });
    assert.equal(changed.statusCode, 200);
  });

  test('deep links get index.html; missing assets and API paths do not', async () => {
    const deepLink = await app.inject({ url: '/trade/ETHUSDT', headers: { accept: 'text/html' } });
    assert.equal(deepLink.statusCode, 200);
    assert.match(deepLink.body, /<div id="app">/);
    assert.equal(deepLink.headers['cache-control'], 'no-cache');
    const admin = await app.inject({ url: '/admin/markets' });
    assert.equal(admin.statusCode, 200);
    assert.match(admin.body, /<div id="app">/);

    const missingAsset = await app.inject({ url: '/assets/index-AAAAAAAA.js' });
    assert.equal(missingAsset.statusCode, 404);
    const unknownApi = await app.inject({ url: '/api/v3/nothing' });
    assert.equal(unknownApi.statusCode, 404);
    assert.equal(unknownApi.json().code, -1099);
    const adminApi = await app.inject({ url: '/admin/v1/markets' });
    assert.equal(adminApi.statusCode, 404);
    assert.equal((await app.inject({ url: '/api/v3/ping' })).statusCode, 200);
  });

  test(`first load transfers at most ${firstLoadBytesMax / 1024} KB of compressed JS and CSS`, async () => {
    const html = readFileSync(join(distDirectory, 'index.html'), 'utf8');
    const paths = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.(?:js|css))"/g)].map((match) => match[1]!);
    let bytes = 0;
    for (const path of paths) bytes += (await app.inject({ url: path, headers: { 'accept-encoding': 'br, gzip' } })).rawPayload.length;
    assert.ok(bytes > 0 && bytes <= firstLoadBytesMax, `first load ${bytes} bytes`);
  });

  test('Accept-Encoding negotiation honours q-values and wildcards', () => {
    const both = { br: Buffer.from('b'), gzip: Buffer.from('g') };
    assert.equal(chooseEncoding('gzip, br', both), 'br');
    assert.equal(chooseEncoding('gzip', both), 'gzip');
    assert.equal(chooseEncoding('br;q=0.1, gzip;q=0.9', both), 'gzip');
    assert.equal(chooseEncoding('*', both), 'br');
    assert.equal(chooseEncoding('identity', both), null);
    assert.equal(chooseEncoding(undefined, both), null);
    assert.equal(chooseEncoding('br', { gzip: both.gzip }), null);
  });
});
