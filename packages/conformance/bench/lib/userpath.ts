/**
 * The `userpath` section (issue #14): what a real application does — `send(transactions)` with
 * fresh transaction lists, or `sendPayload` with pre-encoded payloads — into the txlane receiver
 * with an *asynchronous* `submit` (it answers on a later turn of the event loop, as a consensus
 * engine does), each next to a raw `node:net` pump doing the same work into the same receiver:
 * encoding each envelope, or writing pre-encoded frames.
 *
 * Rows run round-robin in rounds, so drift in the machine's load touches every row alike; a
 * row's figure is the median of its rounds, and each ratio is the median of the per-round
 * ratios txlane ÷ raw.
 *
 * @module
 */
import { Effect } from "effect"
import { int, median, times, usage } from "./format.js"
import { type CellResult, type RunContext, runCell } from "./measure.js"
import { type BenchImpl, raw, txlane, workloadById } from "./plan.js"
import { measuredBy } from "./provenance.js"
import type { Results } from "./results.js"
import { roundRatio } from "./rounds.js"

/** The section heading (BENCHMARKS.md; splice.ts finds the section by it). */
export const USER_PATH_HEADING = "## User path"

type Api = "send" | "payload"

interface Row {
  readonly id: string
  readonly api: Api
  readonly sender: BenchImpl
}

/** The rows: for each API, txlane then its raw reference. */
export const userPathRows: ReadonlyArray<Row> = [
  { id: "txlane send(txs)", api: "send", sender: txlane },
  { id: "raw pump, encoding each envelope", api: "send", sender: raw },
  { id: "txlane sendPayload", api: "payload", sender: txlane },
  { id: "raw pump, pre-encoded", api: "payload", sender: raw }
]

/**
 * Batches per cell and rounds: bounded in count, and in time by the cell timeout. A full run's
 * cells last ~4 s each, 5 rounds: with 30,000 batches (~1.5 s) and 3 rounds, a row's ratio moved
 * between 0.8× and 1.5× from round to round on the 2-vCPU VM (bench/PROFILE.md).
 */
export const userPathCounts = (quick: boolean) =>
  quick ? { batches: 2_000, rounds: 1 } : { batches: 90_000, rounds: 5 }

/** Runs every row `rounds` times, round-robin, on the upstream shape, fire-and-forget. */
export const runUserPath = (quick: boolean, ctx: RunContext): Effect.Effect<Array<CellResult>> =>
  Effect.gen(function* () {
    const { batches, rounds } = userPathCounts(quick)
    ctx.log(`== user path: ${userPathRows.length} rows × ${rounds} round(s) × ${batches} batches, async submit`)
    const out: Array<CellResult> = []
    for (let round = 1; round <= rounds; round++)
      for (const row of userPathRows)
        out.push(
          yield* runCell(
            {
              section: "userpath",
              pairing: row.id,
              sender: row.sender,
              receiver: txlane,
              workload: workloadById("upstream"),
              batches,
              transport: "unix",
              senderFlags: ["--api", row.api],
              receiverFlags: ["--submit", "async"],
              params: { round, api: row.api }
            },
            ctx
          )
        )
    return out
  })

/** txlane ÷ raw for one API: the median of the per-round ratios. */
export const userPathRatio = (cells: ReadonlyArray<CellResult>, api: Api): number | null => {
  const [mine, ref] = userPathRows.filter((r) => r.api === api)
  return roundRatio(cells, mine!.id, ref!.id)
}

/** The section's Markdown (heading included). */
export const renderUserPath = (r: Results): Array<string> => {
  const cells = r.userPath
  const L: Array<string> = [USER_PATH_HEADING, ""]
  if (cells.length === 0) return [...L, "Not measured in this run (`--only userpath` measures it).", ""]
  const { batches, rounds } = userPathCounts(r.quick)
  L.push(measuredBy(r), "")
  L.push(
    `What an application does (issue #14): \`@txlane/sender\` (Promise API, defaults, fire-and-forget) with \`send(txs)\` — fresh transaction lists, the envelope encoded on every call — or \`sendPayload\` (pre-encoded), into \`@txlane/receiver\` (defaults) whose \`submit\` answers on a later turn (\`setImmediate\`), as a consensus engine does. Each next to a raw \`node:net\` pump (\`bench/peers/raw.ts\`, one connection, corked runs of 64) doing the same work into the same receiver: \`Envelope.encode\` per batch, or pre-encoded frames. Upstream shape, Unix socket, ${int(batches)} batches per cell, ${rounds} round(s) round-robin; batches/s is the median of the rounds, the ratio the median of the per-round ratios.`,
    ""
  )
  L.push(
    "| row | batches/s | sender CPU µs/batch | receiver CPU µs/batch | txlane ÷ raw | ok rounds |",
    "|---|--:|--:|--:|--:|--:|"
  )
  for (const row of userPathRows) {
    const mine = cells.filter((c) => c.pairing === row.id)
    const ok = mine.filter((c) => c.status === "ok" && c.batchesPerSec !== null)
    const failed = mine.find((c) => c.status !== "ok")
    const ratio = row.sender === txlane ? userPathRatio(cells, row.api) : null
    L.push(
      `| ${row.id}${failed ? ` (${failed.status}: ${(failed.reason ?? "").replaceAll("|", "/").slice(0, 120)})` : ""} | ${int(median(ok.map((c) => c.batchesPerSec!)))} | ${usage(median(ok.flatMap((c) => (c.senderCpuUsPerBatch === null ? [] : [c.senderCpuUsPerBatch]))))} | ${usage(median(ok.flatMap((c) => (c.receiverCpuUsPerBatch === null ? [] : [c.receiverCpuUsPerBatch]))))} | ${ratio === null ? "–" : times(ratio)} | ${ok.length}/${mine.length} |`
    )
  }
  L.push("")
  return L
}
