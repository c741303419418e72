// types.test.js: index.d.ts compiles in a strict TypeScript consumer,
// batonVerifier() is the SDK's OAuthTokenVerifier, and a misuse is caught.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const here = path.dirname(new URL(import.meta.url).pathname);
const tsc = path.join(here, '..', 'node_modules', 'typescript', 'bin', 'tsc');

function run(project) {
  return new Promise((resolve) =>
    execFile(process.execPath, [tsc, '-p', project], { timeout: 60000 },
      (e, out) => resolve({ code: e ? e.code : 0, out })));
}

test('index.d.ts: a strict consumer compiles', async () => {
  const r = await run(path.join(here, 'types'));
  assert.equal(r.code, 0, r.out);
});

test('index.d.ts: a wrong argument type does not', async () => {
  const dir = fs.mkdtempSync(path.join(here, 'types', 'bad-'));
  try {
    fs.writeFileSync(path.join(dir, 'bad.ts'),
      "import { BatonClient } from '../../../src/index.js';\n" +
      "new BatonClient().mint({ grants: '*', ttl: 'an hour' });\n");
    const cfg = JSON.parse(fs.readFileSync(path.join(here, 'types', 'tsconfig.json'), 'utf8'));
    cfg.files = ['bad.ts'];
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(cfg));
    const r = await run(dir);
    assert.notEqual(r.code, 0);
    assert.match(r.out, /TS2322/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
