/**
 * The `large-frames` section (issue #14): 1 MiB frames, receiver side — how fast each receiver
 * takes them and what share of its CPU the garbage collector costs.
 *
 * Rows, run round-robin in rounds so that every row of a round shares the machine's conditions:
 * - `txlane` — txlane sender → txlane receiver (the "large" row of the transports table);
 * - `raw pump → txlane receiver` — the txlane receiver alone, fed by the same sender as `raw`;
 * - `raw` — raw pump → raw `node:net` receiver (`FrameDecoder` + `Envelope.decode`, nothing else);
 * - `zeromq` — zeromq.js PUSH/PULL.
 *
 * Each cell is a throughput cell (measure.ts: GNU time, the slower side's clock) whose receiver
 * also writes its `--loop-stats` (loop-stats.ts) from its first frame to its exit: the GC share
 * is the main thread's GC pause time over the process's CPU time in that same window.
 *
 * @module
 */
import * as path from "node:path"
import { Effect } from "effect"
import { int, median, num, pct, times } from "./format.js"
import { type LoopFigures, readLoopStats } from "./loop-stats.js"
import { type CellResult, type RunContext, runCell } from "./measure.js"
import { type BenchImpl, raw, txlane, workloadById, zeromq } from "./plan.js"
import { measuredBy } from "./provenance.js"
import type { Results } from "./results.js"
import { roundRatio } from "./rounds.js"

/** The section heading (BENCHMARKS.md; splice.ts finds the section by it). */
export const LARGE_FRAMES_HEADING = "## 1 MiB frames, receiver side"

interface Row {
  readonly id: string
  readonly sender: BenchImpl
  readonly receiver: BenchImpl
}

/** The rows, txlane first. */
export const largeFrameRows: ReadonlyArray<Row> = [
  { id: "txlane", sender: txlane, receiver: txlane },
  { id: "raw pump → txlane receiver", sender: raw, receiver: txlane },
  { id: "raw", sender: raw, receiver: raw },
  { id: "zeromq", sender: zeromq, receiver: zeromq }
]

/** One cell of the section: a throughput cell and its receiver's figures over the traffic. */
export interface LargeFrameCell extends CellResult {
  readonly receiverLoop: LoopFigures | null
}

/**
 * Frames per cell and rounds: bounded in count, and in time by the cell timeout. 1,500 frames
 * last 1–2 s at this machine's 1–2 GB/s; a single round moved by up to 2× (bench/PROFILE.md).
 */
export const largeFrameCounts = (quick: boolean) => (quick ? { batches: 50, rounds: 1 } : { batches: 1_500, rounds: 5 })

/** Runs every row `rounds` times, round-robin, on the large workload, fire-and-forget. */
export const runLargeFrames = (quick: boolean, ctx: RunContext): Effect.Effect<Array<LargeFrameCell>> =>
  Effect.gen(function* () {
    const { batches, rounds } = largeFrameCounts(quick)
    ctx.log(`== 1 MiB frames: ${largeFrameRows.length} rows × ${rounds} round(s) × ${batches} frames`)
    const out: Array<LargeFrameCell> = []
    let id = 0
    for (let round = 1; round <= rounds; round++)
      for (const row of largeFrameRows) {
        const loopFile = path.join(ctx.tmp, `large-${++id}.loop.json`)
        const cell = yield* runCell(
          {
            section: "large-frames",
            pairing: row.id,
            sender: row.sender,
            receiver: row.receiver,
            workload: workloadById("large"),
            batches,
            transport: "unix",
            senderFlags: [],
            receiverFlags: ["--loop-stats", loopFile],
            params: { round }
          },
          ctx
        )
        out.push({ ...cell, receiverLoop: cell.status === "ok" ? readLoopStats(loopFile) : null })
      }
    return out
  })

/**
 * A row's GC share: the median over its ok cells of the receiver's GC pause time over its CPU
 * time, both from its first frame on; null if no cell has them.
 */
export const gcShareOf = (cells: ReadonlyArray<LargeFrameCell>, row: string): number | null =>
  median(
    cells.flatMap((c) =>
      c.pairing === row && c.status === "ok" && c.receiverLoop?.cpuMs
        ? [c.receiverLoop.gcTotalMs / c.receiverLoop.cpuMs]
        : []
    )
  )

/** The section's Markdown (heading included). */
export const renderLargeFrames = (r: Results): Array<string> => {
  const cells = r.largeFrames ?? []
  const L: Array<string> = [LARGE_FRAMES_HEADING, ""]
  if (cells.length === 0) return [...L, "Not measured in this run (`--only large-frames` measures it).", ""]
  const { batches, rounds } = largeFrameCounts(r.quick)
  const w = workloadById("large")
  L.push(measuredBy(r), "")
  L.push(
    `The benchmark peers of the transports table (pre-encoded payloads, fire-and-forget, Unix socket, \`--respond none\`), ${int(batches)} frames of ${int(w.payloadBytes)} B (${w.txPerBatch} × ${w.txSize} B transactions) per cell, ${rounds} round(s) round-robin. GB/s is payload (10^9 B/s) over the slower side's clock, the median of the rounds; ratios are the medians of the per-round ratios (the same workload in every row, so bytes and frames give the same ratio). *GC*: the receiver's main-thread GC pause time (\`PerformanceObserver\` \`gc\` entries) over its process CPU time (\`process.cpuUsage\`, every thread), both from its first frame to its exit. The txlane receiver runs with \`reuseFrameBuffers: true\` (receiver README, "Payload views"). *Receiver CPU µs/frame* is GNU time's, start-up subtracted${r.quick ? " (not in a quick run, which skips the calibration)" : ""}.`,
    ""
  )
  L.push(
    "| row | GB/s | range over rounds | ÷ zeromq.js | ÷ raw | receiver CPU µs/frame | GC % of receiver CPU | receiver GC pause p99 µs | receiver RSS MiB | ok rounds |",
    "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
  )
  for (const row of largeFrameRows) {
    const mine = cells.filter((c) => c.pairing === row.id)
    const ok = mine.filter((c) => c.status === "ok" && c.mbPerSec !== null)
    const failed = mine.find((c) => c.status !== "ok")
    const gbs = ok.map((c) => c.mbPerSec! / 1000)
    const ratio = (ref: string) => {
      if (ref === row.id) return "–"
      const x = roundRatio(cells, row.id, ref)
      return x === null ? "–" : times(x)
    }
    const share = gcShareOf(cells, row.id)
    const nums = (f: (c: LargeFrameCell) => number | null | undefined) =>
      ok.flatMap((c) => {
        const v = f(c)
        return v === null || v === undefined ? [] : [v]
      })
    const rss = median(nums((c) => c.receiverUsage.maxRssKb))
    L.push(
      `| ${row.id}${failed ? ` (${failed.status}: ${(failed.reason ?? "").replaceAll("|", "/").slice(0, 120)})` : ""} | ${num(median(gbs), 2)} | ${gbs.length > 0 ? `${num(Math.min(...gbs), 2)}–${num(Math.max(...gbs), 2)}` : "–"} | ${ratio("zeromq")} | ${ratio("raw")} | ${int(median(nums((c) => c.receiverCpuUsPerBatch)))} | ${share === null ? "n/a" : pct(share)} | ${int(median(nums((c) => c.receiverLoop?.gcPauseP99Us)))} | ${rss === null ? "n/a" : int(rss / 1024)} | ${ok.length}/${mine.length} |`
    )
  }
  L.push("")
  return L
}
