/**
 * The shared defaults table, `packages/protocol/vectors/defaults.json` (SPEC §11), against the
 * TypeScript defaults: every row's `ts` value is what the sender and receiver export (schedules
 * are stepped to read their delays). The Rust and Go peers check their own columns
 * (`peers/rust/tests/defaults.rs`, `peers/go/defaults_test.go`).
 */
import { readFileSync } from "node:fs"
import { Frame } from "@txlane/protocol"
import { Receiver } from "@txlane/receiver"
import { Options } from "@txlane/sender"
import { Duration, Effect, Exit, Schedule } from "effect"
import { describe, expect, it } from "vitest"

interface Row {
  readonly name: string
  readonly role: "sender" | "receiver" | "both"
  readonly unit: string
  readonly description: string
  readonly ts: number | null
  readonly differs?: { readonly reason: string; readonly go?: number | null; readonly rust?: number | null }
}

const table: { readonly kind: string; readonly vectors: ReadonlyArray<Row> } = JSON.parse(
  readFileSync(new URL("../../protocol/vectors/defaults.json", import.meta.url), "utf8")
)
const spec = readFileSync(new URL("../../protocol/SPEC.md", import.meta.url), "utf8")

/** A value as SPEC.md §11 prints it: `—` for none, sizes in MiB/KiB, durations in s/ms. */
const format = (value: number | null | undefined, unit: string): string => {
  if (value === null || value === undefined) return "—"
  if (unit === "mode") return `0o${value.toString(8)}`
  if (unit === "bytes" && value % 1048576 === 0) return `${value / 1048576} MiB`
  if (unit === "bytes" && value % 1024 === 0) return `${value / 1024} KiB`
  if (unit === "ms") return value >= 1000 && value % 1000 === 0 ? `${value / 1000} s` : `${value} ms`
  return value.toLocaleString("en-US")
}

/** SPEC.md §11's row for a default: the TypeScript, Rust and Go cells, bold where they differ. */
const specRow = (row: Row): string => {
  const cell = (impl: "rust" | "go") => {
    const differs = row.differs !== undefined && impl in row.differs
    const text = format(differs ? row.differs?.[impl] : row.ts, row.unit)
    return differs ? `**${text}**` : text
  }
  return `| \`${row.name}\` | ${format(row.ts, row.unit)} | ${cell("rust")} | ${cell("go")} | ${row.differs?.reason ?? ""} |`
}

/** The delays of a schedule's first `n` steps (fewer when it ends), in milliseconds. */
const delays = <I>(schedule: Schedule.Schedule<unknown, I>, input: I, n: number): ReadonlyArray<number> =>
  Effect.runSync(
    Effect.gen(function* () {
      const step = yield* Schedule.toStep(schedule)
      const out: Array<number> = []
      for (let i = 0; i < n; i++) {
        const next = yield* Effect.exit(step(0, input))
        if (Exit.isFailure(next)) break
        out.push(Duration.toMillis(next.value[1]))
      }
      return out
    })
  )

const reconnect = delays(Options.defaultReconnect, undefined as never, 40)
const transient = delays(Options.defaultTransientRetry, "Node not ready", 100)

/** Both schedules multiply each delay by a random factor in [0.8, 1.2] (`Schedule.jittered`). */
const jitteredFrom = (ms: number, nominal: number) => ms >= 0.8 * nominal && ms <= 1.2 * nominal

/** The TypeScript value of each row: a constant, or a check of a schedule. */
const typescript: Record<string, number | ((value: number) => boolean)> = {
  maxFrameBytes: Frame.DEFAULT_MAX_FRAME_BYTES,
  "receiver.handlers": Receiver.DEFAULT_HANDLERS,
  "receiver.frameTimeoutMs": Receiver.DEFAULT_FRAME_TIMEOUT_MS,
  "receiver.lingerMs": Receiver.DEFAULT_LINGER_MS,
  "receiver.maxConnections": Receiver.DEFAULT_MAX_CONNECTIONS,
  "receiver.connectionQueueCapacity": Receiver.DEFAULT_CONNECTION_QUEUE_CAPACITY,
  "receiver.queueCapacity": Receiver.DEFAULT_QUEUE_CAPACITY,
  "receiver.maxBufferedBytes": Receiver.DEFAULT_MAX_BUFFERED_BYTES,
  "receiver.idleTimeoutMs": Receiver.DEFAULT_IDLE_TIMEOUT_MS,
  "receiver.evictIdleAfterMs": Receiver.DEFAULT_EVICT_IDLE_AFTER_MS,
  "receiver.socketMode": Receiver.DEFAULT_SOCKET_MODE,
  "receiver.closeTimeoutMs": Receiver.DEFAULT_CLOSE_TIMEOUT_MS,
  "sender.workers": Options.DEFAULT_WORKERS,
  "sender.queueCapacity": Options.DEFAULT_QUEUE_CAPACITY,
  "sender.maxInFlight": Options.DEFAULT_MAX_IN_FLIGHT,
  "sender.ackTimeoutMs": Options.DEFAULT_ACK_TIMEOUT_MS,
  "sender.connectTimeoutMs": Options.DEFAULT_CONNECT_TIMEOUT_MS,
  "sender.maxResponseBytes": Options.DEFAULT_MAX_RESPONSE_BYTES,
  "sender.autoSilenceMs": Options.AUTO_SILENCE_MS,
  "sender.retries": Options.DEFAULT_RETRIES,
  "sender.closeTimeoutMs": Options.DEFAULT_CLOSE_TIMEOUT_MS,
  "sender.maxBatchesPerWrite": Options.DEFAULT_MAX_BATCHES_PER_WRITE,
  "sender.reconnectFirstDelayMs": (ms) => jitteredFrom(reconnect[0]!, ms),
  // Doubling from 20 ms passes 1 s by the 7th delay; from then on every delay is the jittered cap.
  "sender.reconnectMaxDelayMs": (ms) => reconnect.length === 40 && reconnect.slice(7).every((d) => jitteredFrom(d, ms)),
  "sender.transientRetryFirstDelayMs": (ms) => jitteredFrom(transient[0]!, ms),
  "sender.transientRetryMaxDelayMs": (ms) => transient.slice(6).every((d) => jitteredFrom(d, ms)),
  "sender.transientRetries": (n) => transient.length === n
}

describe("vectors/defaults.json", () => {
  it("is a defaults table whose every difference says why", () => {
    expect(table.kind).toBe("defaults")
    expect(table.vectors.length).toBeGreaterThanOrEqual(20)
    for (const row of table.vectors) {
      if (row.differs !== undefined) expect(row.differs.reason.length, `${row.name}: the reason`).toBeGreaterThan(30)
      if (row.ts === null)
        expect(row.differs, `${row.name}: not in TypeScript, so it must say where it is`).toBeDefined()
    }
    expect(new Set(table.vectors.map((r) => r.name)).size).toBe(table.vectors.length)
  })

  it.each(table.vectors.map((row) => [row.name, row] as const))("%s: the TypeScript value", (name, row) => {
    const ts = typescript[name]
    if (row.ts === null) {
      expect(ts, `${name}: the table says TypeScript has no such setting`).toBeUndefined()
    } else if (typeof ts === "function") {
      expect(ts(row.ts), `${name}: ${row.ts} against the schedule`).toBe(true)
    } else {
      expect(ts).toBe(row.ts)
    }
  })

  it.each(table.vectors.map((row) => [row.name, row] as const))("%s: SPEC.md §11 says the same", (_, row) => {
    expect(spec.split("\n")).toContain(specRow(row))
  })

  it("has a row for every TypeScript default it checks", () => {
    const rows = new Set(table.vectors.map((r) => r.name))
    expect(Object.keys(typescript).filter((name) => !rows.has(name))).toEqual([])
  })
})
