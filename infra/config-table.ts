/**
 * The configuration table of docs/configuration.md, made from env.example (default and meaning) and
 * CONFIG_READERS in infra/config-readers.ts (which process acts on a variable), so the three never drift:
 * `infra/bin/node --import tsx infra/config-table.ts --write` rewrites the table between its
 * markers; test/unit/config.test.ts fails when it is out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigVariable } from '../src/platform/config';
import { CONFIG_READERS } from './config-readers';

const ROOT = join(__dirname, '..');
export const TABLE_START = '<!-- configuration table: infra/config-table.ts writes it from env.example -->';
export const TABLE_END = '<!-- end of configuration table -->';

/** Variables env.example documents that the config module does not read. */
const OTHER_READERS: Record<string, string> = { LOG_FORMAT: 'npm start', AWS_PROFILE: 'the AWS SDK' };

export interface DocumentedVariable {
  name: string;
  section: string;
  /** Empty when env.example leaves it commented out with no value (unset by default). */
  default: string;
  meaning: string;
}

/** Each variable of env.example with its section, default and the comment block above it. */
export function documentedVariables(envExample: string): DocumentedVariable[] {
  const variables: DocumentedVariable[] = [];
  let section = '';
  let comment: string[] = [];
  let blockUsed = false;
  for (const line of envExample.split('\n')) {
    const heading = /^# ── (.+?) ─/.exec(line);
    const variable = /^(#\s?)?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (heading?.[1]) {
      section = heading[1].trim();
      comment = [];
    } else if (variable?.[2]) {
      const commented = variable[1] !== undefined;
      const value = variable[3]?.trim() ?? '';
      variables.push({
        name: variable[2],
        section,
        default: commented && !/^(true|false)$/.test(value) ? '' : value,
        meaning: blockUsed ? '〃' : firstSentence(comment),
      });
      blockUsed = true;
    } else if (line.startsWith('#')) {
      if (blockUsed) comment = [];
      blockUsed = false;
      comment.push(line.replace(/^#\s?/, ''));
    } else {
      comment = [];
      blockUsed = false;
    }
  }
  return variables;
}

function firstSentence(lines: string[]): string {
  const text = lines.join(' ').replace(/\s+/g, ' ').trim();
  const end = /\.(\s|$)/.exec(text);
  let sentence = end ? text.slice(0, end.index) : text;
  if (sentence.length > 160) sentence = `${sentence.slice(0, sentence.lastIndexOf(' ', 157))} …`;
  return sentence.replace(/\|/g, '\\|');
}

export function configurationTable(envExample: string): string {
  const rows = documentedVariables(envExample).map((v) => {
    const readers = CONFIG_READERS[v.name as ConfigVariable]?.join(', ') ?? OTHER_READERS[v.name] ?? '?';
    return `| ${v.section} | \`${v.name}\` | ${v.default === '' ? 'unset' : `\`${v.default}\``} | ${readers} | ${v.meaning} |`;
  });
  return ['| Section | Variable | Default | Acts in | What it sets |', '|---|---|---|---|---|', ...rows].join('\n');
}

/** Where the table lives. */
export const TABLE_DOC = 'docs/configuration.md';

export function docWithTable(doc: string, envExample: string): string {
  const start = doc.indexOf(TABLE_START);
  const end = doc.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`${TABLE_DOC} has no "${TABLE_START}" … "${TABLE_END}" markers`);
  return `${doc.slice(0, start + TABLE_START.length)}\n${configurationTable(envExample)}\n${doc.slice(end)}`;
}

if (require.main === module) {
  const docPath = join(ROOT, TABLE_DOC);
  const envExample = readFileSync(join(ROOT, 'env.example'), 'utf8');
  if (process.argv.includes('--write')) writeFileSync(docPath, docWithTable(readFileSync(docPath, 'utf8'), envExample));
  else process.stdout.write(`${configurationTable(envExample)}\n`);
}
