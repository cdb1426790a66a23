/**
 * Flags both txlane command-line tools accept, spelled and documented once.
 *
 * @module
 */
import { Option, Result } from "effect"
import { Flag } from "effect/cli"
import type { ModeFlag } from "./LiveView.js"
import { type Address, parseAddress } from "./MetricsHttp.js"

/** `--output auto|tty|json`: status line (terminal) or JSON lines. */
export const output: Flag.Flag<ModeFlag> = Flag.Literals("output", ["auto", "tty", "json"]).pipe(
  Flag.withDefault("auto" as const),
  Flag.withDescription(
    "auto (default): a live status line when stderr is a terminal, else JSON lines on stdout. tty | json force one."
  )
)

/** `--metrics HOST:PORT`: serve `/metrics` (Prometheus) and `/healthz`. */
export const metrics: Flag.Flag<Option.Option<Address>> = Flag.String("metrics").pipe(
  Flag.withMetavar("HOST:PORT"),
  Flag.filterMap(
    (s) => Option.fromNullishOr(Result.getOrUndefined(parseAddress(s))),
    () => "HOST:PORT, e.g. 127.0.0.1:9464"
  ),
  Flag.optional,
  Flag.withDescription("Serve GET /metrics (Prometheus text) and GET /healthz on HOST:PORT (port 0: any free port).")
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

/** A limit flag: an integer ≥ `min`, or the word `unbounded`. */
export const limit = (
  name: string,
  description: string,
  defaultValue: number | "unbounded",
  min = 1
): Flag.Flag<number | "unbounded"> =>
  Flag.String(name).pipe(
    Flag.withMetavar("N|unbounded"),
    Flag.filterMap(
      (s): Option.Option<number | "unbounded"> => {
        if (s === "unbounded") return Option.some("unbounded")
        const n = Number(s)
        return /^\d+$/.test(s) && n >= min && Number.isSafeInteger(n) ? Option.some(n) : Option.none()
      },
      () => `an integer >= ${min}, or unbounded`
    ),
    Flag.withDefault(defaultValue),
    Flag.withDescription(`${description} Default ${defaultValue}.`)
  )
