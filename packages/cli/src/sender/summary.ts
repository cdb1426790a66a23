/**
 * The end of a `txlane-sender` run: what happened to every batch read, as the summary table
 * (humans), the `summary` log event's fields (machines) and the exit code.
 *
 * Every batch read is delivered, rejected, failed, still held at the close deadline, or refused
 * by `send`; connect failures and broken connections are errors too, named by their cause
 * (`connect ENOENT 37`), so a run against a missing socket never reads as a success.
 *
 * @module
 */
import type { CloseReport, Stats } from "@txlane/sender"
import { Format, Main } from "../index.js"
import type { Latency } from "./Latency.js"

/** Everything the summary is made of. */
export interface Run {
  readonly endpoint: string
  readonly workers: number
  readonly delivery: string
  readonly inputText: string
  readonly elapsedMs: number
  /** Batches read from the input. */
  readonly batches: number
  readonly delivered: number
  readonly transactions: number
  readonly payloadBytes: number
  /** Batches `send` refused (`QueueFull`, `FrameTooLarge`, …), by error tag. */
  readonly sendErrors: ReadonlyMap<string, number>
  /** Failed connect attempts, by cause (`ENOENT`, `ECONNREFUSED`, …). */
  readonly connectFailures: ReadonlyMap<string, number>
  readonly stats: Stats
  readonly report: CloseReport
  readonly latency: Latency | undefined
  readonly digest: { readonly value: string; readonly count: number } | undefined
  /** The input could not be read to its end. */
  readonly inputFailed: boolean
}

/** The outcome: the table, the `summary` event's fields, the exit code, and an error line if the run failed. */
export interface Summary {
  readonly table: string
  readonly fields: Readonly<Record<string, unknown>>
  readonly code: number
  readonly error: string | undefined
}

const sum = (counts: ReadonlyMap<string, number>): number => {
  let total = 0
  for (const n of counts.values()) total += n
  return total
}

/** Milliseconds, rounded to microseconds: no float noise in the JSON. */
const ms = (value: number): number => Math.round(value * 1000) / 1000

/** Builds the summary of a finished run. */
export const summarize = (run: Run): Summary => {
  const { stats: s, report } = run
  const seconds = Math.max(1e-3, run.elapsedMs / 1000)
  const sendErrors = sum(run.sendErrors)
  // The sender counts every failed attempt; the causes come from its connection events.
  const connectFailures = Math.max(s.connectFailures, sum(run.connectFailures))
  const errors = sendErrors + connectFailures + s.connectionErrors
  const kinds: Array<readonly [string, number]> = [
    ...run.sendErrors,
    ...Array.from(run.connectFailures, ([cause, n]) => [`connect ${cause}`, n] as const),
    ...(s.connectionErrors > 0 ? [["connection lost", s.connectionErrors] as const] : [])
  ]
  const undelivered = report.failed + report.undelivered.length + sendErrors
  const notDelivered = report.rejected + undelivered
  const causes = Array.from(run.connectFailures.keys()).join(", ")
  const neverConnected = s.connects === 0 && connectFailures > 0 && run.batches > 0
  const error = neverConnected ? `cannot connect to ${run.endpoint}: ${causes || "unknown cause"}` : undefined
  const code =
    run.inputFailed || neverConnected
      ? Main.ExitCode.failure
      : notDelivered > 0
        ? Main.ExitCode.incomplete
        : Main.ExitCode.ok

  const rows: Array<Format.Row> = [
    ["endpoint", `${run.endpoint} (${run.workers} connections, ${run.delivery})`],
    ["input", run.inputText],
    ["elapsed", Format.duration(run.elapsedMs)],
    [
      "delivered",
      `${Format.count(run.delivered)} of ${Format.count(run.batches)} batches  (${Format.rate(run.delivered / seconds)}), ${Format.count(report.rejected)} rejected, ${Format.count(undelivered)} undelivered${neverConnected ? ` (never connected: ${causes})` : ""}`
    ],
    ["transactions", `${Format.count(run.transactions)}  (${Format.rate(run.transactions / seconds)})`],
    ["bytes", `${Format.bytes(s.bytesSent)} written  (${Format.megabytesPerSecond(s.bytesSent / seconds)})`]
  ]
  const latency = run.latency !== undefined && run.latency.count > 0 ? run.latency : undefined
  const [p50, p99] = latency?.percentiles([50, 99]) ?? []
  if (latency !== undefined) {
    rows.push([
      "ack latency",
      `p50 ${Format.duration(p50 ?? Number.NaN)}  p99 ${Format.duration(p99 ?? Number.NaN)}  max ${Format.duration(latency.max)}`
    ])
  }
  rows.push(
    [
      "connections",
      `${s.connects} connects, ${Format.count(connectFailures)} failed connects, ${s.reconnects} reconnects, ${s.connectionErrors} lost, ${s.retries} resends`
    ],
    [
      "answers",
      `${Format.count(s.responses)} read, ${Format.count(report.transientRejections)} not ready (retried), ${Format.count(report.unanswered)} unanswered, ${report.outOfStep} out of step`
    ],
    [
      "errors",
      kinds.length === 0
        ? Format.count(errors)
        : `${Format.count(errors)} (${kinds.map(([k, n]) => `${k} ${Format.count(n)}`).join(", ")})`
    ],
    [
      "close",
      `${Format.duration(report.durationMs)}${report.timedOut ? " (deadline passed)" : ""}, ${report.undelivered.length} still held`
    ]
  )
  if (run.digest !== undefined) rows.push(["digest", `${run.digest.value} (${Format.count(run.digest.count)} tx)`])

  const fields: Record<string, unknown> = {
    endpoint: run.endpoint,
    delivery: run.delivery,
    elapsed_ms: Math.round(run.elapsedMs),
    batches: run.batches,
    delivered: run.delivered,
    rejected: report.rejected,
    failed: report.failed,
    undelivered,
    transactions: run.transactions,
    payload_bytes: run.payloadBytes,
    bytes_sent: s.bytesSent,
    acknowledged: s.acknowledged,
    unanswered: report.unanswered,
    transient_rejections: report.transientRejections,
    out_of_step: report.outOfStep,
    errors,
    error_kinds: Object.fromEntries(kinds),
    connects: s.connects,
    connect_failures: connectFailures,
    reconnects: s.reconnects,
    resends: s.retries,
    timed_out: report.timedOut,
    ...(latency === undefined
      ? {}
      : { ack_p50_ms: ms(p50 ?? Number.NaN), ack_p99_ms: ms(p99 ?? Number.NaN), ack_max_ms: ms(latency.max) }),
    ...(run.digest === undefined ? {} : { digest: run.digest.value }),
    exit_code: code
  }
  return { table: Format.table("txlane-sender", rows), fields, code, error }
}
