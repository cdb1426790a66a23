/** Number formatting shared by the renderings (BENCHMARKS.md, the deployed section). */
export const int = (n: number | null | undefined): string =>
  n === null || n === undefined ? "–" : Math.round(n).toLocaleString("en-US")
export const num = (n: number | null | undefined, digits = 1): string =>
  n === null || n === undefined ? "–" : n.toLocaleString("en-US", { maximumFractionDigits: digits })
export const pct = (r: number): string => `${Math.round(r * 1000) / 10}%`
export const times = (r: number): string => `${num(r, 2)}×`
export const mb = (kb: number | null): string => (kb === null ? "n/a" : num(kb / 1024, 0))
export const usage = (u: number | null): string => (u === null ? "n/a" : int(u))
