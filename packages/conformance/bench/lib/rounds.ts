/**
 * Sections measured in rounds, round-robin (deployed.ts, userpath.ts, large-frames.ts): every row
 * runs once per round, so drift in the machine touches every row alike, and `params.round`
 * numbers each cell's round. A ratio between two rows is taken within each round, then the
 * median of those: rows of one round shared the machine's conditions, rows of different rounds
 * did not.
 *
 * @module
 */
import { median } from "./format.js"
import type { CellResult } from "./measure.js"

/** `row` ÷ `ref` in batches/s: the median of the per-round ratios; null without a round where both are ok. */
export const roundRatio = (cells: ReadonlyArray<CellResult>, row: string, ref: string): number | null => {
  const rate = (id: string, round: unknown) =>
    cells.find((c) => c.pairing === id && c.params.round === round && c.status === "ok")?.batchesPerSec ?? null
  const ratios: Array<number> = []
  for (const round of new Set(cells.map((c) => c.params.round))) {
    const a = rate(row, round)
    const b = rate(ref, round)
    if (a !== null && b !== null && b > 0) ratios.push(a / b)
  }
  return median(ratios)
}
