/**
 * The live view of the txlane command-line tools: a status line redrawn in place on a terminal,
 * structured JSON lines everywhere else — both driven by the same sampler, and both routed
 * through Effect's logger so `--log-level` applies to everything a tool prints while it runs.
 *
 * ```
 * tty:   12:00:01 INFO  listening on /tmp/a.sock          ← log lines scroll above…
 *        ▸ 0:07  frames 12,400 (1.8k/s)  tx 620,000 …     ← …the status line, redrawn every 250 ms
 * json:  {"timestamp":"…","level":"INFO","message":"progress","annotations":{"frames":12400,…}}   every second
 * ```
 *
 * @module
 */
import { Effect, type Layer, Logger, type Scope } from "effect"
import * as Format from "./Format.js"

/** `"tty"`: status line and human log lines on stderr. `"json"`: one JSON object per line on stdout. */
export type Mode = "tty" | "json"

/** What `--output` accepts: `"auto"` picks `"tty"` when stderr is a terminal. */
export type ModeFlag = "auto" | Mode

/** Picks the mode: `auto` → `tty` when `stream` (default stderr) is a terminal, else `json`. */
export const resolveMode = (flag: ModeFlag, stream: { readonly isTTY?: boolean } = process.stderr): Mode =>
  flag === "auto" ? (stream.isTTY === true ? "tty" : "json") : flag

/** Redraw period of the status line: fast enough to look live, slow enough to cost nothing. */
export const TTY_INTERVAL_MS = 250
/** Period of the JSON progress events: one line per second is what log collectors expect. */
export const JSON_INTERVAL_MS = 1000

/** One sample of a tool's numbers. */
export interface Sample {
  /** The status line's fields, in order: `[label, value]`, e.g. `["frames", "12,400 (1.8k/s)"]`. */
  readonly line: ReadonlyArray<readonly [string, string]>
  /** The JSON progress event's fields (raw numbers, for machines). */
  readonly data: Readonly<Record<string, number | string | boolean>>
  /** Known total: draws a progress bar (tty) and adds `progress` (json). */
  readonly progress?: { readonly done: number; readonly total: number } | undefined
}

interface Writable {
  readonly isTTY?: boolean
  readonly columns?: number
  write(text: string): boolean
}

/**
 * The terminal side of the view: keeps one status line at the bottom of `stream` and prints
 * log lines above it (clear the line, print, redraw).
 */
export class StatusLine {
  private current = ""
  private closed = false
  constructor(private readonly stream: Writable = process.stderr) {}

  /** Prints `text` (one or more lines) above the status line. */
  print(text: string): void {
    this.stream.write(this.current === "" ? `${text}\n` : `\r\x1b[2K${text}\n${this.current}`)
  }

  /** Replaces the status line (cut to the terminal's width, so it never wraps). */
  draw(line: string): void {
    if (this.closed) return
    const width = this.stream.columns ?? 120
    this.current = line.length >= width ? `${line.slice(0, Math.max(0, width - 2))}…` : line
    this.stream.write(`\r\x1b[2K${this.current}`)
  }

  /** Removes the status line (before the summary is printed). */
  clear(): void {
    if (this.current !== "") this.stream.write("\r\x1b[2K")
    this.current = ""
  }

  /** Clears the status line for good: later {@link draw} calls do nothing (the tool is ending). */
  close(): void {
    this.clear()
    this.closed = true
  }
}

const LEVEL_WIDTH = 5

const humanLogger = (status: StatusLine) =>
  Logger.map(Logger.formatStructured, (entry) => {
    const time = entry.timestamp.slice(11, 19)
    const message = Array.isArray(entry.message) ? entry.message.map(String).join(" ") : String(entry.message)
    const annotations = Object.entries(entry.annotations)
      .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
      .join(" ")
    const cause = entry.cause === undefined ? "" : `\n${String(entry.cause)}`
    status.print(
      `${time} ${entry.level.padEnd(LEVEL_WIDTH)} ${message}${annotations ? `  ${annotations}` : ""}${cause}`
    )
  })

/** A number as it goes into a JSON line: integers as they are, fractions to 3 decimals (no float noise). */
export const roundForLog = (value: unknown): unknown =>
  typeof value === "number" && !Number.isInteger(value) && Number.isFinite(value)
    ? Math.round(value * 1000) / 1000
    : value

/**
 * One JSON object per line, with stable fields (documented in the README of `@txlane/cli`):
 * `timestamp` (ISO 8601), `level` (`INFO`, `WARN`, …), `message` (a string), `annotations`
 * (the event's fields: snake_case, units in the name, numbers rounded), and `cause` on failures.
 */
const jsonLogger = (stream: Writable) =>
  Logger.map(Logger.formatStructured, (entry) => {
    const message = Array.isArray(entry.message) ? entry.message.map(String).join(" ") : String(entry.message)
    const annotations: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(entry.annotations)) annotations[key] = roundForLog(value)
    const line: Record<string, unknown> = { timestamp: entry.timestamp, level: entry.level, message, annotations }
    if (entry.cause !== undefined) line.cause = String(entry.cause)
    stream.write(`${JSON.stringify(line)}\n`)
  })

/**
 * Replaces the loggers for `mode`: human lines above the status line (`tty`, on stderr) or
 * JSON lines on stdout (`json`, see {@link jsonLogger}).
 */
export const loggerLayer = (mode: Mode, status: StatusLine): Layer.Layer<never> =>
  Logger.layer([mode === "json" ? jsonLogger(process.stdout) : humanLogger(status)])

const render = (sample: Sample, elapsedMs: number): string => {
  const fields = sample.line.map(([label, value]) => (label === "" ? value : `${label} ${value}`)).join("  ")
  const progress = sample.progress
  const barText =
    progress === undefined ? "" : `${Format.bar(progress.total > 0 ? progress.done / progress.total : 1)}  `
  return `▸ ${Format.clock(elapsedMs)}  ${barText}${fields}`
}

/** Options of {@link run}. */
export interface Options {
  readonly mode: Mode
  readonly status: StatusLine
  /** Takes a sample; called every interval (and must be cheap: it reads counters). */
  readonly sample: (elapsedMs: number) => Sample
  /** Status line redraw period. Default {@link TTY_INTERVAL_MS}. */
  readonly ttyIntervalMs?: number | undefined
  /** JSON progress period. Default {@link JSON_INTERVAL_MS}. */
  readonly jsonIntervalMs?: number | undefined
}

/**
 * Runs the live view in the current Scope: redraws the status line (`tty`) or logs a
 * `progress` event (`json`) every interval. Closing the Scope stops it and clears the line.
 */
export const run = (options: Options): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function* () {
    const started = performance.now()
    const tick =
      options.mode === "tty"
        ? Effect.sync(() => {
            const elapsed = performance.now() - started
            options.status.draw(render(options.sample(elapsed), elapsed))
          })
        : Effect.suspend(() => {
            const elapsed = performance.now() - started
            const sample = options.sample(elapsed)
            const progress = sample.progress
            const data = { elapsed_ms: Math.round(elapsed), ...sample.data }
            return Effect.logInfo("progress").pipe(
              Effect.annotateLogs(
                progress === undefined ? data : { ...data, done: progress.done, total: progress.total }
              )
            )
          })
    const interval =
      options.mode === "tty" ? (options.ttyIntervalMs ?? TTY_INTERVAL_MS) : (options.jsonIntervalMs ?? JSON_INTERVAL_MS)
    yield* Effect.addFinalizer(() => Effect.sync(() => options.status.clear()))
    yield* Effect.forkScoped(Effect.forever(Effect.andThen(Effect.sleep(interval), tick)))
  })

/** The rate of a counter between two samples (per second); keeps the last value itself. */
export class RateMeter {
  private lastValue = 0
  private lastAt = performance.now()
  private lastRate = 0

  /** Feeds the counter's current value; returns the rate since the previous call (smoothed over ≥ 0.5 s). */
  update(value: number): number {
    const now = performance.now()
    const dt = now - this.lastAt
    if (dt >= 500) {
      this.lastRate = ((value - this.lastValue) * 1000) / dt
      this.lastValue = value
      this.lastAt = now
    }
    return this.lastRate
  }
}
