/**
 * Flags both txlane command-line tools accept, spelled and documented once.
 *
 * @module
 */
import { Endpoint } from "@txlane/protocol"
import { Config, Duration, Option, Result } from "effect"
import { Flag } from "effect/cli"
import type { ModeFlag } from "./LiveView.js"
import { type Address, parseAddress } from "./MetricsHttp.js"

/** A parsed `--metrics` value. */
export type MetricsAddress = Address

/** `--output auto|tty|json`: status line (terminal) or JSON lines. */
export const output: Flag.Flag<ModeFlag> = Flag.Literals("output", ["auto", "tty", "json"]).pipe(
  Flag.withDefault("auto" as const),
  Flag.withDescription(
    "auto (default): a live status line when stderr is a terminal, else JSON lines on stdout. tty | json force one."
  )
)

/** The environment variable `--endpoint` (sender) and `--listen` (receiver) fall back to. */
export const ENDPOINT_ENV = "TXLANE_ENDPOINT"

/**
 * Checks an endpoint as the libraries will, so that a bad one is a usage error (exit 2) before
 * anything starts. `host:port` — what users type for TCP — gets a hint: `tcp://host:port`.
 */
export const checkEndpoint = (input: string): Result.Result<string, string> => {
  const parsed = Endpoint.parse(input)
  if (Result.isSuccess(parsed)) return Result.succeed(input)
  const hint = /^[^/:]*:\d{1,5}$/.test(input) ? `; for TCP write tcp://${input}` : ""
  return Result.fail(`${parsed.failure.message}${hint}`)
}

/**
 * An endpoint flag (`--endpoint`, `--listen`): a Unix socket path, `unix:PATH` or
 * `tcp://HOST:PORT`; when absent, the {@link ENDPOINT_ENV} environment variable.
 */
export const endpoint = (name: string, description: string): Flag.Flag<string> =>
  Flag.String(name).pipe(
    Flag.withFallbackConfig(Config.String(ENDPOINT_ENV)),
    Flag.withMetavar("PATH|tcp://HOST:PORT"),
    Flag.mapTryCatch(
      (input) => Result.getOrThrow(checkEndpoint(input)),
      (error) => String(error)
    ),
    Flag.withDescription(`${description} Default: $${ENDPOINT_ENV}.`)
  )

const DURATION_UNITS_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** Parses `250ms`, `5s`, `1.5m`, `2h`, or a bare number of milliseconds. */
export const parseDuration = (input: string): Option.Option<Duration.Duration> => {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(input.trim())
  if (match === null) return Option.none()
  return Option.some(Duration.millis(Number(match[1]) * (DURATION_UNITS_MS[match[2] ?? "ms"] ?? 1)))
}

/** A duration flag (`5s`, `250ms`, `1m`; a bare number is milliseconds), its default shown in the help. */
export const duration = (name: string, description: string, defaultMs: number): Flag.Flag<Duration.Duration> =>
  Flag.String(name).pipe(
    Flag.withMetavar("DURATION"),
    Flag.filterMap(parseDuration, () => "a duration: 250ms, 5s, 1m (a bare number is milliseconds)"),
    Flag.withDefault(Duration.millis(defaultMs)),
    Flag.withDescription(`${description} Default ${Duration.format(Duration.millis(defaultMs))}.`)
  )

/** A duration flag that may also be `unbounded` (a limit that can be turned off). */
export const durationLimit = (
  name: string,
  description: string,
  defaultMs: number
): Flag.Flag<Duration.Duration | "unbounded"> =>
  Flag.String(name).pipe(
    Flag.withMetavar("DURATION|unbounded"),
    Flag.filterMap(
      (s): Option.Option<Duration.Duration | "unbounded"> =>
        s === "unbounded" ? Option.some("unbounded") : parseDuration(s),
      () => "a duration (250ms, 5s, 1m; a bare number is milliseconds), or unbounded"
    ),
    Flag.withDefault(Duration.millis(defaultMs) as Duration.Duration | "unbounded"),
    Flag.withDescription(`${description} Default ${Duration.format(Duration.millis(defaultMs))}.`)
  )

/** `--metrics HOST:PORT`: serve `/metrics` (Prometheus) and `/healthz`. */
export const metrics: Flag.Flag<Option.Option<Address>> = Flag.String("metrics").pipe(
  Flag.withMetavar("HOST:PORT"),
  Flag.filterMap(
    (s) => Option.fromNullishOr(Result.getOrUndefined(parseAddress(s))),
    () => "HOST:PORT or :PORT, e.g. 127.0.0.1:9464"
  ),
  Flag.optional,
  Flag.withDescription(
    "Serve GET /metrics (Prometheus text: txlane, process and runtime metrics) and GET /healthz on HOST:PORT; :PORT listens on all interfaces, like other Prometheus exporters (port 0: any free port)."
  )
)

/** `--digest`: compute the transaction digest (PEERS.md) of everything sent / received. */
export const digest: Flag.Flag<boolean> = Flag.Boolean("digest").pipe(
  Flag.withDefault(false),
  Flag.withDescription(
    "Compute the digest (PEERS.md) of every transaction and print it in the summary. Costs a SHA-256 per transaction."
  )
)

/** An integer flag with a minimum, its default shown in the help. */
export const int = (name: string, description: string, defaultValue: number, min = 1): Flag.Flag<number> =>
  Flag.Int(name).pipe(
    Flag.filterMap(
      (n) => (n >= min ? Option.some(n) : Option.none()),
      () => `an integer >= ${min}`
    ),
    Flag.withDefault(defaultValue),
    Flag.withDescription(`${description} Default ${defaultValue}.`)
  )

const parseLimit =
  (min: number) =>
  (s: string): Option.Option<number | "unbounded"> => {
    if (s === "unbounded") return Option.some("unbounded")
    const n = Number(s)
    return /^\d+$/.test(s) && n >= min && Number.isSafeInteger(n) ? Option.some(n) : Option.none()
  }

/** A limit flag without a default (its description says what absence means): an integer ≥ `min`, or `unbounded`. */
export const optionalLimit = (
  name: string,
  description: string,
  min = 1
): Flag.Flag<Option.Option<number | "unbounded">> =>
  Flag.String(name).pipe(
    Flag.withMetavar("N|unbounded"),
    Flag.filterMap(parseLimit(min), () => `an integer >= ${min}, or unbounded`),
    Flag.optional,
    Flag.withDescription(description)
  )

/** A limit flag: an integer ≥ `min`, or the word `unbounded`. */
export const limit = (
  name: string,
  description: string,
  defaultValue: number | "unbounded",
  min = 1
): Flag.Flag<number | "unbounded"> =>
  Flag.String(name).pipe(
    Flag.withMetavar("N|unbounded"),
    Flag.filterMap(parseLimit(min), () => `an integer >= ${min}, or unbounded`),
    Flag.withDefault(defaultValue),
    Flag.withDescription(`${description} Default ${defaultValue}.`)
  )
