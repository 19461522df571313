// Part of `npm run build`: tsc compiles src/ to dist/ but copies no other files, so this
// copies what the compiled code reads at run time from beside itself (today the SQL
// migrations) into the same place under dist/.
//
// usage: node scripts/copy-build-assets.mjs [--out DIR] [--help]
import { cpSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

if (process.argv.includes('--help')) {
  console.log('usage: node scripts/copy-build-assets.mjs [--out DIR]\n  copies every non-TypeScript file under src/ to the same path under DIR (default dist/; run by `npm run build`)');
  process.exit(0);
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'src');
const outIndex = process.argv.indexOf('--out');
const target = outIndex >= 0 ? process.argv[outIndex + 1] : join(root, 'dist');

/** Every file below `directory` that the compiler does not handle. */
function assetsBelow(directory) {
  const found = [];
  for (const name of readdirSync(directory)) {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) found.push(...assetsBelow(path));
    else if (!name.endsWith('.ts')) found.push(path);
  }
  return found;
}

const assets = assetsBelow(source);
for (const path of assets) cpSync(path, join(target, relative(source, path)));
console.log(`copied ${assets.length} files from src/ to ${relative(root, target) || target}/`);
