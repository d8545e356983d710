/** Text output of the `events` CLI. */

/** A plain text table: columns padded to their widest cell, long cells cut with "…". */
export function formatTable(headers: string[], rows: string[][], maxCell = 60): string {
  const cut = (s: string) => (s.length > maxCell ? `${s.slice(0, maxCell - 1)}…` : s);
  const cells = [headers, ...rows.map((row) => row.map((c) => cut(c.replace(/\s+/g, ' '))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  return cells.map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}
