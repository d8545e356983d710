/**
 * infra/test.sh runs the integration files it lists in `concurrent=(...)` side by side and every
 * other file alone, after them. A listed name that is no file (a file renamed since) silently moves
 * the file to the other phase; a listed file that stops or freezes the shared servers would break
 * the files running beside it. Both are caught here, before a run.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { REPO_ROOT } from '../support/paths';

/** The names in a `concurrent=(...)` array of a bash script (the array may span lines). */
export function concurrentNames(script: string): string[] {
  const list = /^concurrent=\(([^)]*)\)/m.exec(script)?.[1];
  assert.ok(list !== undefined, 'infra/test.sh has a concurrent=(...) list');
  return list.split(/\s+/).filter(Boolean);
}

const concurrent = concurrentNames(readFileSync(join(REPO_ROOT, 'infra/test.sh'), 'utf8'));
const file = (name: string) => join(REPO_ROOT, 'test/integration', `${name}.test.ts`);
/** The code of a file without its comments, which may name anything. */
const code = (path: string) =>
  readFileSync(path, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');

it('every name in infra/test.sh concurrent=(...) is a file of test/integration, listed once', () => {
  assert.ok(concurrent.length > 0, 'the list was read');
  assert.deepEqual(
    concurrent.filter((name) => !existsSync(file(name))),
    [],
    'names with no test/integration/NAME.test.ts',
  );
  assert.deepEqual(
    concurrent.filter((name, i) => concurrent.indexOf(name) !== i),
    [],
    'names listed twice',
  );
});

it('no file run side by side stops, starts or reads the state of the shared stack', () => {
  // infra/stack.sh stop|start|kill and the servers' pids under the stack's directory are how a
  // file takes the shared servers away from the others; those files belong to the outages phase.
  const offenders = concurrent.filter((name) => existsSync(file(name)) && /infra\/stack\.sh|\bSTACK_DIR\b|\bstackLayout\(/.test(code(file(name))));
  assert.deepEqual(offenders, []);
});

it('the parse reads a list that spans lines and ignores what follows it', () => {
  assert.deepEqual(concurrentNames('x=1\nconcurrent=(a b\n  c-d e)\nalone=(f)\n'), ['a', 'b', 'c-d', 'e']);
});
