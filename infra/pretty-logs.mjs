// Makes `npm start` readable: turns the JSON log lines of the platform's processes (as prefixed
// by concurrently: "[producer] {...}") into "12:00:01 INFO  [producer] message key=value".
// Other lines pass through untouched. Ignores Ctrl-C so the processes' shutdown logs still show;
// it ends when its input does.
import { createInterface } from 'node:readline';

const LEVELS = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
const COLORS = { 40: '\x1b[33m', 50: '\x1b[31m', 60: '\x1b[31m' };
const color = process.stdout.isTTY;
const SKIP = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'service', 'env']);

process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});

const value = (v) => (typeof v === 'string' ? v : JSON.stringify(v));

createInterface({ input: process.stdin }).on('line', (line) => {
  const match = /^(\[[^\]]+\]\s*)?(\{.*\})\s*$/.exec(line);
  if (!match) return void process.stdout.write(`${line}\n`);
  let entry;
  try {
    entry = JSON.parse(match[2]);
  } catch {
    return void process.stdout.write(`${line}\n`);
  }
  const time = new Date(entry.time ?? Date.now()).toISOString().slice(11, 19);
  const level = LEVELS[entry.level] ?? String(entry.level);
  const fields = Object.entries(entry)
    .filter(([k]) => !SKIP.has(k))
    .map(([k, v]) => `${k}=${value(v)}`)
    .join(' ');
  const text = `${time} ${level} ${match[1] ?? ''}${entry.msg ?? ''}${fields ? `  ${fields}` : ''}`;
  process.stdout.write(color && COLORS[entry.level] ? `${COLORS[entry.level]}${text}\x1b[0m\n` : `${text}\n`);
});
