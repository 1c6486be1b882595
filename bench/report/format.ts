/** Number formatting shared by the table, the summary and the charts. */

export function fixed(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function count(value: number): string {
  return value.toLocaleString('en-US');
}

/**
 * Bytes in MB (10⁶ B, one decimal). The report's one convention: B, kB = 1,000 B and
 * MB = 1,000,000 B, for wire bytes and memory alike (docs/bench.md, Units).
 */
export function mb(bytes: number | undefined): string {
  return bytes === undefined ? '–' : (bytes / 1e6).toFixed(1);
}

/** A delay in ms with precision that suits its size: 0.42, 4.2, 42, 420. */
export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined) return '–';
  return value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : value.toFixed(0);
}
