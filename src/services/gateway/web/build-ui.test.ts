import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { webBuildIsCurrent } from './build-ui.ts';

function touch(path: string, seconds: number): void {
  writeFileSync(path, 'x');
  utimesSync(path, seconds, seconds);
}

test('a web build is current only when it exists and no UI source is newer than it', () => {
  const webDirectory = mkdtempSync(join(tmpdir(), 'bourse-web-build-'));
  try {
    mkdirSync(join(webDirectory, 'src', 'lib'), { recursive: true });
    touch(join(webDirectory, 'index.html'), 1_000);
    touch(join(webDirectory, 'src', 'lib', 'api.ts'), 1_000);
    // Directories count too (a file added or deleted changes its directory's time).
    utimesSync(join(webDirectory, 'src', 'lib'), 1_000, 1_000);
    utimesSync(join(webDirectory, 'src'), 1_000, 1_000);
    assert.equal(webBuildIsCurrent(webDirectory), false, 'no build yet');

    mkdirSync(join(webDirectory, 'dist'));
    touch(join(webDirectory, 'dist', 'index.html'), 2_000);
    assert.equal(webBuildIsCurrent(webDirectory), true, 'built after every source');

    touch(join(webDirectory, 'src', 'lib', 'api.ts'), 3_000);
    assert.equal(webBuildIsCurrent(webDirectory), false, 'a nested source edited after the build');

    touch(join(webDirectory, 'dist', 'index.html'), 4_000);
    touch(join(webDirectory, 'package.json'), 5_000);
    assert.equal(webBuildIsCurrent(webDirectory), false, 'package.json changed after the build');

    touch(join(webDirectory, 'dist', 'index.html'), 6_000);
    assert.equal(webBuildIsCurrent(webDirectory), true);

    utimesSync(join(webDirectory, 'src'), 7_000, 7_000);
    assert.equal(webBuildIsCurrent(webDirectory), false, 'a source file added or removed after the build');
  } finally {
    rmSync(webDirectory, { recursive: true, force: true });
  }
});
