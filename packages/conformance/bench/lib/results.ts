/**
 * The results of a run (the JSON written to `bench/results/latest.json`): their types and the
 * Schema that checks a file is well-formed (what CI checks; absolute numbers never are). Split
 * from report.ts, which renders them (issue #16).
 *
 * @module
 */
import { Result, Schema } from "effect"
import type { LargeFrameCell } from "./large-frames.js"
import type { LatencyResult } from "./latency.js"
import type { CellResult, Machine } from "./measure.js"

/** The format version written in every results file. */
export const SCHEMA = "txlane-bench/1"

/**
 * A target's verdict in one run. `inconclusive`: a latency target nearer its bound than the run's
 * A/A control can tell apart (judge.ts `atMost`).
 */
export type TargetStatus = "met" | "missed" | "inconclusive" | "n/a"

/** One target judged from a run (judge.ts). */
export interface Target {
  readonly id: string
  readonly description: string
  readonly figure: string
  readonly status: TargetStatus
}

/** A default the sweeps recommend (judge.ts). */
export interface Recommendation {
  readonly value: number
  readonly current: number
  readonly why: string
}

/** Everything one run measured. */
export interface Results {
  readonly schema: typeof SCHEMA
  readonly quick: boolean
  readonly only: ReadonlyArray<string> | null
  readonly startedAt: string
  readonly finishedAt: string
  readonly durationS: number
  readonly machine: Machine
  readonly workloads: ReadonlyArray<{
    readonly id: string
    readonly label: string
    readonly txPerBatch: number
    readonly txSize: number
    readonly payloadBytes: number
  }>
  /** Start-up CPU (ms, user+sys) per `impl/role`, subtracted from the cells' CPU figures. */
  readonly startupCpuMs: Readonly<Record<string, number>>
  /** Fire-and-forget cells: sections `pairings` and `transports`. */
  readonly throughput: ReadonlyArray<CellResult>
  /** Fire-and-forget sweep cells (section `sweeps`, `params` holds the swept value). */
  readonly sweeps: ReadonlyArray<CellResult>
  /** Section `deployed` (deployed.ts): every row × round, `params.round` numbers the round. */
  readonly deployed: ReadonlyArray<CellResult>
  /** Section `userpath` (userpath.ts): every row × round, `params.round` numbers the round. */
  readonly userPath: ReadonlyArray<CellResult>
  /**
   * Section `large-frames` (large-frames.ts): every row × round, `params.round` numbers the round.
   * Absent in results recorded before 2026-12-02.
   */
  readonly largeFrames?: ReadonlyArray<LargeFrameCell> | undefined
  /** Acknowledged saturation throughput by `workers` (latency sender, closed loop). */
  readonly ackSweep: ReadonlyArray<LatencyResult>
  readonly latency: ReadonlyArray<LatencyResult>
  readonly recommended: {
    readonly workers: Recommendation
    readonly handlers: Recommendation
    readonly queue: Recommendation
  }
  readonly targets: ReadonlyArray<Target>
}

/** How many targets judge.ts judges: a results file with another count is from another version. */
export const TARGET_COUNT = 17

const Status = Schema.Literals(["ok", "failed", "skipped"])

const Cell = Schema.Struct({
  pairing: Schema.String,
  workload: Schema.String,
  status: Status,
  batchesPerSec: Schema.NullOr(Schema.Number)
}).check(
  Schema.makeFilter(
    (c) =>
      c.status !== "ok" ||
      (c.batchesPerSec !== null && c.batchesPerSec > 0) ||
      `cell ${c.pairing}/${c.workload}: ok without a positive batchesPerSec`
  )
)

const Latency = Schema.Struct({
  offered: Schema.Number,
  status: Status,
  p50Us: Schema.NullOr(Schema.Number)
}).check(Schema.makeFilter((l) => l.status !== "ok" || l.p50Us !== null || `latency ${l.offered}: ok without p50`))

const TargetSchema = Schema.Struct({
  id: Schema.String,
  figure: Schema.String,
  status: Schema.Literals(["met", "missed", "inconclusive", "n/a"])
})

const RecommendationSchema = Schema.Struct({ value: Schema.Number })

/**
 * What a well-formed results file holds (the fields the renderings rely on; other fields are
 * not checked). Never checks an absolute number.
 */
export const ResultsSchema = Schema.Struct({
  schema: Schema.Literal(SCHEMA),
  machine: Schema.Struct({ cpuModel: Schema.String, cores: Schema.Number }),
  workloads: Schema.Array(Schema.Struct({ id: Schema.String })),
  throughput: Schema.Array(Cell),
  sweeps: Schema.Array(Cell),
  deployed: Schema.Array(Cell),
  userPath: Schema.Array(Cell),
  largeFrames: Schema.Array(Cell),
  ackSweep: Schema.Array(Latency),
  latency: Schema.Array(Latency),
  targets: Schema.Array(TargetSchema).check(
    Schema.makeFilter((ts) => ts.length === TARGET_COUNT || `expected ${TARGET_COUNT} targets, got ${ts.length}`)
  ),
  recommended: Schema.Struct({
    workers: RecommendationSchema,
    handlers: RecommendationSchema,
    queue: RecommendationSchema
  })
})

/** Problems with a results object; empty when it is well-formed. */
export const validateResults = (value: unknown): Array<string> => {
  const decoded = Schema.decodeUnknownResult(ResultsSchema)(value, { errors: "all" })
  return Result.isSuccess(decoded) ? [] : [decoded.failure.message]
}
