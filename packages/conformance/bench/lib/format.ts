/** Number formatting (and the median) shared by the renderings (BENCHMARKS.md, its round-robin sections). */
export const int = (n: number | null | undefined): string =>
  n === null || n === undefined ? "–" : Math.round(n).toLocaleString("en-US")
export const num = (n: number | null | undefined, digits = 1): string =>
  n === null || n === undefined ? "–" : n.toLocaleString("en-US", { maximumFractionDigits: digits })
export const pct = (r: number): string => `${Math.round(r * 1000) / 10}%`
export const times = (r: number): string => `${num(r, 2)}×`
export const mb = (kb: number | null): string => (kb === null ? "n/a" : num(kb / 1024, 0))
export const usage = (u: number | null): string => (u === null ? "n/a" : int(u))
/** The median of `xs`; null when empty. */
export const median = (xs: ReadonlyArray<number>): number | null => {
  if (xs.length === 0) return null
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}
