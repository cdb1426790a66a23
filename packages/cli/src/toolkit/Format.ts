/**
 * Human-readable numbers and the end-of-run summary table of the txlane command-line tools.
 *
 * Plain functions over numbers and strings: the CLIs of `@txlane/sender` and `@txlane/receiver`
 * and the demo print with them, so their output looks the same.
 *
 * @module
 */

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"] as const

/** `1536` → `"1.5 KiB"`. Binary units, one decimal above 1 KiB. */
export const bytes = (n: number): string => {
  let value = n
  let unit = 0
  while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${UNITS[unit]}`
}

/** `12345.6` → `"12,346"`: rounded, with thousands separators (fixed `en-US` so logs parse the same everywhere). */
export const count = (n: number): string => Math.round(n).toLocaleString("en-US")

/** A per-second rate: `"12.3k/s"`, `"845/s"`, `"1.20M/s"`. */
export const rate = (perSecond: number): string => {
  if (!Number.isFinite(perSecond)) return "-"
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)}M/s`
  if (perSecond >= 1e4) return `${(perSecond / 1e3).toFixed(1)}k/s`
  return `${count(perSecond)}/s`
}

/** Bytes per second as decimal megabytes (what network tools print): `"412.3 MB/s"`. */
export const megabytesPerSecond = (bytesPerSecond: number): string =>
  Number.isFinite(bytesPerSecond) ? `${(bytesPerSecond / 1e6).toFixed(1)} MB/s` : "-"

/** Milliseconds: `"0.42 ms"`, `"12.5 ms"`, `"3.20 s"`. */
export const duration = (ms: number): string => {
  if (!Number.isFinite(ms)) return "-"
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`
  if (ms >= 10) return `${ms.toFixed(1)} ms`
  return `${ms.toFixed(2)} ms`
}

/** Elapsed time as `m:ss` (or `h:mm:ss`), for status lines. */
export const clock = (ms: number): string => {
  const total = Math.max(0, Math.floor(ms / 1000))
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = String(total % 60).padStart(2, "0")
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`
}

/** A progress bar of `width` cells: `"[█████░░░░░]  50%"`. `fraction` is clamped to 0–1. */
export const bar = (fraction: number, width = 12): string => {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0))
  const full = Math.round(f * width)
  return `[${"█".repeat(full)}${"░".repeat(width - full)}] ${String(Math.floor(f * 100)).padStart(3)}%`
}

/** One row of a summary table: a label and its value; a row with only a label starts a section. */
export type Row = readonly [label: string, value?: string]

/**
 * The summary table printed when a tool ends:
 *
 * ```
 * ┌ txlane-receiver ─────────────────────────┐
 * │ frames received        12,400            │
 * │ transactions           620,000           │
 * └──────────────────────────────────────────┘
 * ```
 */
export const table = (title: string, rows: ReadonlyArray<Row>): string => {
  const labelWidth = Math.max(0, ...rows.map(([label, value]) => (value === undefined ? 0 : label.length)))
  const lines = rows.map(([label, value]) => (value === undefined ? label : `${label.padEnd(labelWidth)}   ${value}`))
  const width = Math.max(title.length + 4, ...lines.map((l) => l.length)) + 2
  const top = `┌ ${title} ${"─".repeat(Math.max(0, width - title.length - 2))}┐`
  const body = lines.map((l) => `│ ${l.padEnd(width - 2)} │`)
  return [top, ...body, `└${"─".repeat(width)}┘`].join("\n")
}
