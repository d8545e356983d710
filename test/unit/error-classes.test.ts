/**
 * The error-class convention (docs/design.md, "Errors"), checked on the source so drift is caught:
 * every class that extends an error ends in `Error` and declares `override name = '<its class
 * name>'` once, as a field, never `this.name = …` in a constructor.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { REPO_ROOT } from '../support/paths';

/** The folders whose code runs in the platform's processes. */
const ROOTS = ['src', 'activities', 'workflows', 'workers', 'bin'];

function sourceFiles(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|cts)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

interface ErrorClass {
  file: string;
  name: string | undefined;
  node: ts.ClassLikeDeclaration;
}

/** The last name of `extends X` / `extends a.b.X`. */
function baseName(node: ts.ClassLikeDeclaration): string | undefined {
  const clause = node.heritageClauses?.find((h) => h.token === ts.SyntaxKind.ExtendsKeyword);
  const expr = clause?.types[0]?.expression;
  if (!expr) return undefined;
  if (ts.isIdentifier(expr)) return expr.text;
  if (ts.isPropertyAccessExpression(expr)) return expr.name.text;
  return expr.getText();
}

/** A base that is an error by its name: Error, TypeError, ErrorWithProps, S3ServiceException, ApplicationFailure… */
const ERROR_BASE = /Error|Exception$|Failure$/;

/** Every class in `sources` that extends an error, directly or through another class found here. */
function errorClasses(sources: { file: string; text: string }[]): ErrorClass[] {
  const classes: (ErrorClass & { base: string | undefined })[] = [];
  for (const { file, text } of sources) {
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      if (ts.isClassDeclaration(node) || ts.isClassExpression(node)) classes.push({ file, name: node.name?.text, node, base: baseName(node) });
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  const errors = new Set(classes.filter((c) => c.base !== undefined && ERROR_BASE.test(c.base)));
  for (let grew = true; grew;) {
    grew = false;
    for (const c of classes) {
      if (errors.has(c) || c.base === undefined) continue;
      if ([...errors].some((e) => e.name === c.base)) {
        errors.add(c);
        grew = true;
      }
    }
  }
  return [...errors];
}

/** What is wrong with one error class, against the convention; empty when it follows it. */
function conventionProblems(c: ErrorClass): string[] {
  const problems: string[] = [];
  const where = `${c.file}: class ${c.name ?? '(anonymous)'}`;
  if (!c.name) return [`${where} has no name; name it …Error`];
  if (!c.name.endsWith('Error')) problems.push(`${where}: the name must end in Error`);
  const nameFields = c.node.members.filter((m): m is ts.PropertyDeclaration => ts.isPropertyDeclaration(m) && m.name.getText() === 'name');
  if (nameFields.length !== 1) problems.push(`${where}: declare \`override name = '${c.name}'\` once (found ${nameFields.length})`);
  for (const field of nameFields) {
    const init = field.initializer;
    if (!init || !ts.isStringLiteral(init) || init.text !== c.name) problems.push(`${where}: \`name\` must be the string '${c.name}'`);
    if (!field.modifiers?.some((m) => m.kind === ts.SyntaxKind.OverrideKeyword)) problems.push(`${where}: write \`override name\``);
    if (field.modifiers?.some((m) => m.kind === ts.SyntaxKind.StaticKeyword)) problems.push(`${where}: \`name\` must be an instance field, not static`);
  }
  const assigns = (node: ts.Node): boolean =>
    (ts.isBinaryExpression(node) &&
      node.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
      ts.isPropertyAccessExpression(node.left) &&
      node.left.expression.kind === ts.SyntaxKind.ThisKeyword &&
      node.left.name.text === 'name') ||
    ts.forEachChild(node, assigns) === true;
  if (c.node.members.some((m) => assigns(m))) problems.push(`${where}: set the name with the field only, not \`this.name = …\``);
  return problems;
}

const check = (text: string) => errorClasses([{ file: 'fixture.ts', text }]).flatMap(conventionProblems);

describe('error classes: one naming convention', () => {
  const files = ROOTS.flatMap((root) => sourceFiles(join(REPO_ROOT, root)));
  const sources = files.map((path) => ({ file: relative(REPO_ROOT, path), text: readFileSync(path, 'utf8') }));
  const found = errorClasses(sources);

  void it('every error class in src/, activities/, workflows/, workers/ and bin/ ends in Error and sets its name once, as a field', () => {
    // The walk must see the classes it is meant to check (a wrong root would pass vacuously).
    for (const known of ['InvalidEventError', 'BodyError', 'UsageError', 'ConfigError', 'KafkaUnavailableError', 'ProducerOverloadedError']) {
      assert.ok(
        found.some((c) => c.name === known),
        `expected to find ${known}`,
      );
    }
    assert.deepEqual(found.flatMap(conventionProblems), []);
  });

  void it('the check finds each way of breaking the convention', () => {
    assert.deepEqual(check(`class GoodError extends Error { override name = 'GoodError'; }`), []);
    assert.deepEqual(
      check(`class SubError extends GoodError { override name = 'SubError'; }\nclass GoodError extends Error { override name = 'GoodError'; }`),
      [],
    );
    const cases: [string, RegExp][] = [
      [`class Unnamed extends Error {}`, /must end in Error/],
      [`class NoNameError extends Error {}`, /declare `override name = 'NoNameError'` once \(found 0\)/],
      [`class AssignedError extends Error { constructor() { super('x'); this.name = 'AssignedError'; } }`, /found 0[\s\S]*not `this.name = …`/],
      [`class WrongError extends Error { override name = 'Other'; }`, /must be the string 'WrongError'/],
      [`class PlainError extends Error { name = 'PlainError'; }`, /write `override name`/],
      [`class TooExpensive extends mercurius.ErrorWithProps { override name = 'TooExpensive'; }`, /must end in Error/],
      [`class Base extends Error { override name = 'Base'; }\nclass ChildError extends Base {}`, /ChildError: declare/],
      [`class FailedError extends ApplicationFailure {}`, /FailedError: declare/],
      [`const E = class extends Error {};`, /has no name/],
    ];
    for (const [source, problem] of cases) assert.match(check(source).join('\n'), problem, source);
  });
});
