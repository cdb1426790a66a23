/**
 * The throughput chart of a run (`bench/results/throughput.svg`), split from report.ts (#16).
 *
 * @module
 */
import { int, num } from "./format.js"
import type { CellResult } from "./measure.js"
import { workloads } from "./plan.js"
import type { Results } from "./results.js"

const esc = (s: string): string => s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")

const colorOf = (r: CellResult): string =>
  r.section === "pairings"
    ? "#4c78a8"
    : r.pairing === "txlane"
      ? "#2ca02c"
      : r.pairing === "legacy"
        ? "#d62728"
        : "#9d9d9d"

/** Throughput by pairing and workload: one panel per workload, bars in batches/s, scaled per panel. */
export const renderSvg = (r: Results): string => {
  const width = 900
  const labelW = 170
  const barMax = width - labelW - 230
  const rowH = 18
  const parts: Array<string> = []
  let y = 40
  parts.push(
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">txlane throughput by pairing and workload (fire-and-forget, batches/s)</text>`
  )
  for (const w of workloads) {
    const rows = r.throughput.filter((c) => c.workload === w.id)
    if (rows.length === 0) continue
    parts.push(`<text x="10" y="${y + 14}" font-size="13" font-weight="bold">${esc(w.label)}</text>`)
    y += 22
    const max = Math.max(1, ...rows.map((c) => c.batchesPerSec ?? 0))
    for (const c of rows) {
      const name = c.section === "pairings" ? c.pairing : `${c.pairing} (bench peer)`
      parts.push(`<text x="${labelW - 6}" y="${y + 13}" text-anchor="end" font-size="12">${esc(name)}</text>`)
      if (c.status === "ok" && c.batchesPerSec !== null) {
        const bw = Math.max(1, Math.round((c.batchesPerSec / max) * barMax))
        parts.push(`<rect x="${labelW}" y="${y + 3}" width="${bw}" height="${rowH - 5}" fill="${colorOf(c)}"/>`)
        parts.push(
          `<text x="${labelW + bw + 5}" y="${y + 13}" font-size="11">${esc(`${int(c.batchesPerSec)} /s · ${num(c.mbPerSec, 0)} MB/s`)}</text>`
        )
      } else {
        parts.push(`<text x="${labelW + 4}" y="${y + 13}" font-size="11" fill="#888">${esc(c.status)}</text>`)
      }
      y += rowH
    }
    y += 12
  }
  const legend = [
    ["#4c78a8", "conformance peers (workload + digest)"],
    ["#2ca02c", "txlane, bench peer"],
    ["#9d9d9d", "raw node:net / zeromq.js"],
    ["#d62728", "legacy pool"]
  ] as const
  let lx = 10
  for (const [color, text] of legend) {
    parts.push(`<rect x="${lx}" y="${y + 2}" width="12" height="12" fill="${color}"/>`)
    parts.push(`<text x="${lx + 16}" y="${y + 12}" font-size="11">${esc(text)}</text>`)
    lx += 24 + text.length * 6.2
  }
  y += 22
  parts.push(
    `<text x="10" y="${y + 10}" font-size="10" fill="#555">${esc(`${r.quick ? "QUICK RUN (not a measurement) · " : ""}${r.machine.cpuModel}, ${r.machine.cores} vCPUs · ${r.startedAt}`)}</text>`
  )
  y += 20
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${parts.join("\n")}\n</svg>\n`
}
