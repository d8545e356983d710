/**
 * Text output of the `events` CLI. Every value it prints may come from a record anyone could
 * write (a DLQ record, an S3 key, an error a server sent), so nothing reaches the terminal as a
 * control: C0 and C1 controls (ESC starts ANSI CSI and OSC sequences, and U+009B is CSI itself on
 * some terminals), DEL, line and paragraph separators, and the bidi controls that make a terminal
 * show text in another order than it is (U+202E and its kin) are printed as \uXXXX escapes.
 */

// eslint-disable-next-line no-control-regex -- matching the controls is the point
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// JSON.stringify escapes C0 already (and the layout's newlines are its own): the rest.
const CONTROLS_JSON_LEAVES = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const escape = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** One value for a line of text: every control escaped, a line break too (it would forge a line). */
export function printable(value: string): string {
  return value.replace(CONTROLS, escape);
}

/** Lines of text: each line made printable, the line breaks between them kept. */
export function printableLines(text: string): string {
  return text.split('\n').map(printable).join('\n');
}

/** JSON for a terminal: the same value (every escape is valid JSON), with no control left raw. */
export function jsonText(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(CONTROLS_JSON_LEAVES, escape);
}

/** A plain text table: columns padded to their widest cell, long cells cut with "…". */
export function formatTable(headers: string[], rows: string[][], maxCell = 60): string {
  const cut = (s: string) => (s.length > maxCell ? `${s.slice(0, maxCell - 1)}…` : s);
  const cells = [headers, ...rows.map((row) => row.map((c) => cut(printable(c.replace(/\s+/g, ' ')))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  return cells.map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}
