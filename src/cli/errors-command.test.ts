import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
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
