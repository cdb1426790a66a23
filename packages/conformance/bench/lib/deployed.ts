/**
 * The `deployed` section: txlane against emulators of the deployed peers
 * (`shared/design/system-we-replace.md`), all rows measured in the same run and compared with the
 * deployed system as it is today — the deployed-producer emulator (Go, request/response, 10
 * workers) into the deployed-server emulator (Rust, decodes every `Transaction`, answers every
 * frame).
 *
 * The rows are measured in rounds, round-robin (row 1, row 2, …, row 1, row 2, …), so slow drift
 * in the machine's load touches every row alike. A row's figure is the median of its rounds, and
 * its ratio to the deployed system is the median of the per-round ratios (each against the
 * baseline cell of the same round).
 *
 * @module
 */
import { Effect } from "effect"
import { int, median, num, times } from "./format.js"
import { type CellResult, type RunContext, runCell } from "./measure.js"
import {
  type BenchImpl,
  type CellSpec,
  contractImpl,
  deployedProducer,
  deployedServer,
  txlane,
  workloadById
} from "./plan.js"
import { measuredBy } from "./provenance.js"
import type { Results } from "./results.js"
import { roundRatio } from "./rounds.js"

export const DEPLOYED_HEADING = "## Against the deployed peers (emulators)"

interface Row {
  /** Row id (the cells' `pairing`). */
  readonly id: string
  readonly sender: BenchImpl
  readonly receiver: BenchImpl
  /** How the sender sends, for the table. */
  readonly mode: string
  readonly senderFlags: ReadonlyArray<string>
}

const txlaneRow = (api: "payload" | "send", delivery: "fire-and-forget" | "acknowledged"): Row => ({
  id: `txlane ${api === "payload" ? "sendPayload" : "send(txs)"} ${delivery === "acknowledged" ? "ack" : "ff"}→deployed-server`,
  sender: txlane,
  receiver: deployedServer,
  mode: `\`${api === "payload" ? "sendPayload(pre-encoded)" : "send(txs)"}\`, ${delivery}`,
  senderFlags: ["--api", api, "--delivery", delivery]
})

/** The rows; the first is the baseline (the deployed system today). */
export const deployedRows: ReadonlyArray<Row> = [
  {
    id: "deployed-producer→deployed-server",
    sender: deployedProducer,
    receiver: deployedServer,
    mode: "request/response, 10 workers (its default)",
    senderFlags: []
  },
  txlaneRow("payload", "fire-and-forget"),
  txlaneRow("payload", "acknowledged"),
  txlaneRow("send", "fire-and-forget"),
  txlaneRow("send", "acknowledged"),
  {
    id: "deployed-producer→txlane",
    sender: deployedProducer,
    receiver: txlane,
    mode: "request/response, 10 workers; `@txlane/receiver` defaults, respond json",
    senderFlags: []
  },
  {
    id: "deployed-producer→rust",
    sender: deployedProducer,
    receiver: contractImpl("rust"),
    mode: "request/response, 10 workers; Rust peer receiver (digests every transaction), respond json",
    senderFlags: []
  },
  {
    id: "go→deployed-server",
    sender: contractImpl("go"),
    receiver: deployedServer,
    mode: "Go reference sender, fire-and-forget (generates and digests the workload as it sends)",
    senderFlags: []
  },
  {
    id: "rust→deployed-server",
    sender: contractImpl("rust"),
    receiver: deployedServer,
    mode: "Rust reference sender, fire-and-forget (generates and digests the workload as it sends)",
    senderFlags: []
  }
]

/** Batches per cell and rounds per row: bounded in count, and in time by the cell timeout. */
export const deployedCounts = (quick: boolean) =>
  quick ? { batches: 1_000, rounds: 1 } : { batches: 12_000, rounds: 5 }

/** Runs every row `rounds` times, round-robin, on the upstream shape. */
export const runDeployed = (quick: boolean, ctx: RunContext): Effect.Effect<Array<CellResult>> =>
  Effect.gen(function* () {
    const { batches, rounds } = deployedCounts(quick)
    ctx.log(`== deployed peers (emulators): ${deployedRows.length} rows × ${rounds} round(s) × ${batches} batches`)
    const out: Array<CellResult> = []
    for (let round = 1; round <= rounds; round++)
      for (const row of deployedRows) {
        const spec: CellSpec = {
          section: "deployed",
          pairing: row.id,
          sender: row.sender,
          receiver: row.receiver,
          workload: workloadById("upstream"),
          batches,
          transport: "unix",
          senderFlags: row.senderFlags,
          receiverFlags: [],
          params: { round },
          respond: "json"
        }
        out.push(yield* runCell(spec, ctx))
      }
    return out
  })

export interface DeployedSummary {
  readonly row: Row
  readonly cells: ReadonlyArray<CellResult>
  readonly ok: ReadonlyArray<CellResult>
  readonly batchesPerSec: number | null
  readonly ratio: number | null
}

export const summarizeDeployed = (cells: ReadonlyArray<CellResult>): Array<DeployedSummary> => {
  const baseline = deployedRows[0]!.id
  return deployedRows.map((row) => {
    const mine = cells.filter((c) => c.pairing === row.id)
    const ok = mine.filter((c) => c.status === "ok" && c.batchesPerSec !== null)
    return {
      row,
      cells: mine,
      ok,
      batchesPerSec: median(ok.map((c) => c.batchesPerSec!)),
      ratio: roundRatio(cells, row.id, baseline)
    }
  })
}

/** The section's Markdown (heading included). */
export const renderDeployed = (r: Results): Array<string> => {
  const cells = r.deployed ?? []
  const L: Array<string> = [DEPLOYED_HEADING, ""]
  if (cells.length === 0) return [...L, "Not measured in this run (`--only deployed` measures it).", ""]
  const { batches, rounds } = deployedCounts(r.quick)
  L.push(
    measuredBy(r),
    "",
    `Emulators of the deployed peers (\`system-we-replace.md\`): \`txlane-deployed-server\` decodes every inner \`Transaction\` and answers every frame with JSON; \`txlane-deployed-producer\` keeps one frame in flight per worker. Upstream shape (50 × 650 B, realistic \`Transaction\`s), Unix socket, ${int(batches)} batches per cell; the ${deployedRows.length} rows run round-robin ${rounds} time(s), so every row shares the same machine conditions. batches/s is the median of the rounds (receiver's count over the longer of the sender's and the receiver's clocks, as elsewhere); "× deployed" is the median of the per-round ratios to the first row. txlane rows are the lean benchmark peer (\`bench/peers/txlane.ts\`, \`@txlane/sender\` Promise API, default options) cycling a ≤16 MiB pool of pre-encoded payloads (\`sendPayload\`) or of transaction lists (\`send(txs)\`, which encodes the envelope on every call).`,
    ""
  )
  L.push(
    "| sender → receiver | how | batches/s | range over rounds | MB/s | × deployed | ok rounds |",
    "|---|---|--:|--:|--:|--:|--:|"
  )
  const summary = summarizeDeployed(cells)
  for (const s of summary) {
    const rates = s.ok.map((c) => c.batchesPerSec!)
    const failed = s.cells.find((c) => c.status !== "ok")
    const mbs = median(s.ok.map((c) => c.mbPerSec ?? 0))
    L.push(
      `| ${s.row.id} | ${s.row.mode}${failed ? ` (${failed.status}: ${(failed.reason ?? "").replaceAll("|", "/").slice(0, 120)})` : ""} | ${int(s.batchesPerSec)} | ${rates.length > 1 ? `${int(Math.min(...rates))}–${int(Math.max(...rates))}` : "–"} | ${num(mbs)} | ${s.ratio === null ? "–" : times(s.ratio)} | ${s.ok.length}/${s.cells.length} |`
    )
  }
  L.push("")
  const base = summary[0]!.batchesPerSec
  const ratioOf = (id: string) => summary.find((s) => s.row.id === id)?.ratio ?? null
  const best = summary.filter((s) => s.row.sender === txlane && s.ratio !== null).sort((a, b) => b.ratio! - a.ratio!)[0]
  const facts: Array<string> = []
  if (base !== null)
    facts.push(
      `The deployed producer keeps one frame in flight per worker, so its rate is workers ÷ round trip: ${int(base)} batches/s with 10 workers is one round trip (write 32 KiB, the receiver decodes and answers) every ${int((10 / base) * 1e6)} µs per worker.`
    )
  const [toTxlane, toRust] = [ratioOf("deployed-producer→txlane"), ratioOf("deployed-producer→rust")]
  if (toTxlane !== null && toRust !== null)
    facts.push(
      `The same producer reaches ${times(toTxlane)} that rate into the txlane receiver and ${times(toRust)} into the Rust peer receiver: the receiver's time per frame is part of every round trip.`
    )
  if (best !== undefined)
    facts.push(
      `The best txlane sender row into the deployed-server emulator is ${best.row.id}, at ${times(best.ratio!)}.`
    )
  const rustIn = ratioOf("rust→deployed-server")
  if (best !== undefined && rustIn !== null && rustIn > best.ratio!)
    facts.push(
      `The Rust reference sender reaches ${times(rustIn)} into the same emulator, so the emulator is not what limits the txlane rows.`
    )
  if (facts.length > 0) L.push(facts.join(" "), "")
  return L
}
