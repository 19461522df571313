// Vite build of the trading UI. Output file names carry content hashes (served with
// immutable cache headers), and a small plugin writes brotli and gzip variants of every
// text file next to it so the server (or nginx's gzip_static/brotli_static) never
// compresses at request time.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants as zlibConstants, gzipSync } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';

/** Files smaller than this are not worth a compressed variant. */
const compressBytesMin = 512;
const compressibleExtensions = /\.(js|mjs|css|html|svg|json|txt|map|webmanifest)$/;

function precompress(): Plugin {
  let outDirectory = 'dist';
  return {
    name: 'bourse-precompress',
    apply: 'build',
    configResolved(config) {
      outDirectory = config.build.outDir;
    },
    closeBundle() {
      const walk = (directory: string): void => {
        for (const name of readdirSync(directory)) {
          const path = join(directory, name);
          if (statSync(path).isDirectory()) {
            walk(path);
            continue;
          }
          if (!compressibleExtensions.test(name)) continue;
          const body = readFileSync(path);
          if (body.length < compressBytesMin) continue;
          writeFileSync(`${path}.br`, brotliCompressSync(body, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: body.length } }));
          writeFileSync(`${path}.gz`, gzipSync(body, { level: 9 }));
        }
      };
      walk(outDirectory);
    },
  };
}

export default defineConfig({
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  resolve: { alias: { react: 'preact/compat', 'react-dom': 'preact/compat' } },
  build: {
    target: 'es2022',
    outDir: 'dist',
    assetsDir: 'assets',
    sourcemap: false,
    modulePreload: { polyfill: false },
    rolldownOptions: {
      output: {
        entryFileNames: 'assets/[name]-[hash].js',
        chunkFileNames: 'assets/[name]-[hash].js',
        assetFileNames: 'assets/[name]-[hash][extname]',
      },
    },
  },
  plugins: [precompress()],
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:8080',
      '/admin': 'http://127.0.0.1:8080',
      '/ws': { target: 'ws://127.0.0.1:8080', ws: true },
      '/stream': { target: 'ws://127.0.0.1:8080', ws: true },
    },
  },
});
