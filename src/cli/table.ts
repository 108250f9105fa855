/** Plain-text tables for the terminal: a header, a rule, left-aligned columns. */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max([...h].length, ...rows.map((r) => [...(r[i] ?? '')].length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i]! - [...c].length)))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n') + '\n';
}

/** A data ID as `k=v k=v`. */
export function dataIdWords(dataId: Readonly<Record<string, unknown>> | null | undefined): string {
  return dataId ? Object.entries(dataId).map(([k, v]) => `${k}=${String(v)}`).join(' ') : '';
}
