import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { errorCatalogue } from '../common/errors.js';
import { errorsMarkdown } from './errors-command.js';

test('docs/ERRORS.md documents every error code (regenerate: podnet errors --markdown)', () => {
  const doc = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'ERRORS.md'), 'utf8');
  for (const [code, spec] of errorCatalogue()) {
    assert.ok(spec.doc.trim().length > 10, `${code} has no real doc`);
    assert.ok(doc.includes(`| \`${code}\` | ${spec.cni} |`), `docs/ERRORS.md lacks ${code} (CNI ${spec.cni})`);
  }
  assert.equal(doc, errorsMarkdown(), 'docs/ERRORS.md is stale: run ./bin/podnet errors --markdown > docs/ERRORS.md');
});

test('src/catalogue.ts loads every module that declares error codes', () => {
  const srcRoot = join(__dirname, '..', '..', '..', 'src');
  const catalogue = readFileSync(join(srcRoot, 'catalogue.ts'), 'utf8');
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
    });
  for (const file of walk(srcRoot)) {
    const rel = file.slice(srcRoot.length + 1).replace(/\.ts$/, '.js');
    if (rel === 'common/errors.js' || !/defineErrors\(\{/.test(readFileSync(file, 'utf8'))) continue;
    assert.ok(catalogue.includes(`'./${rel}'`), `src/catalogue.ts does not import ./${rel}`);
  }
});
