/**
 * The peer contract's command line (PEERS.md "Invocation"), declared once: every flag of
 * `receive` and `send` with its default and its check, as an Effect Schema from the strings
 * `node:util` `parseArgs` yields to typed values. The TypeScript reference peer
 * (`txlane-ts-peer`) and the testee kit (`@txlane/conformance/testee`) parse with it, so the two
 * cannot drift apart, and neither can drift from PEERS.md's table without this file changing.
 *
 * The schema keys are the flag names (`"tx-per-batch"`), so the set of accepted flags is the set
 * of keys: anything else is an unknown flag, a {@link UsageError} (exit code 2).
 *
 * ```ts
 * const flags = PeerFlags.parse(PeerFlags.Send, ["--endpoint", "/tmp/a.sock", "--batches", "5"])
 * flags.batches // 5
 * flags.queue // 1000, the PEERS.md default
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util"
import { Endpoint, Frame } from "@txlane/protocol"
import { Workload } from "@txlane/protocol/testing"
import { Effect, Result, Schema, SchemaTransformation } from "effect"

/** A bad command line: PEERS.md's exit code 2. The message names the flag. */
export class UsageError extends Error {}

/** True for a {@link UsageError} or a `node:util` `parseArgs` rejection (unknown or malformed flag). */
export const isUsageError = (error: unknown): error is Error =>
  error instanceof UsageError ||
  (error instanceof TypeError && "code" in error && String(error.code).startsWith("ERR_PARSE_ARGS"))

/** Decimal digits only: no sign, exponent or hex, which `Number` and `BigInt` would otherwise accept. */
const digits = (name: string, what: string) =>
  Schema.String.check(
    Schema.makeFilter((text) => /^\d+$/.test(text) || `--${name} must be ${what}, got ${JSON.stringify(text)}`)
  )

/** `--NAME N`: a decimal integer of at least `min`. */
const count = (name: string, min: number) =>
  digits(name, "a non-negative integer").pipe(
    Schema.decodeTo(
      Schema.Number.check(
        Schema.makeFilter((n) => (Number.isSafeInteger(n) && n >= min) || `--${name} must be at least ${min}, got ${n}`)
      ),
      SchemaTransformation.numberFromString
    )
  )

/** {@link count} with PEERS.md's default when the flag is absent. */
const countOr = (name: string, min: number, fallback: number) =>
  count(name, min).pipe(Schema.withDecodingDefaultKey(Effect.succeed(String(fallback))))

/** `--NAME` taking one of `values`, `fallback` when absent. */
const oneOf = <const L extends ReadonlyArray<string>>(name: string, values: L, fallback: L[number]) => {
  const literals: Schema.Literals<L> = Schema.Literals(values).annotate({
    message: `--${name} must be one of ${values.join(", ")}`
  })
  return literals.pipe(Schema.withDecodingDefaultKey<Schema.Literals<L>>(Effect.succeed(fallback)))
}

/** A required endpoint (`/abs/path.sock`, `unix:/abs/path.sock`, `tcp://HOST:PORT`). */
const endpoint = (name: string) =>
  Schema.String.check(
    Schema.makeFilter((text) => Result.isSuccess(Endpoint.parse(text)) || `--${name}: invalid endpoint ${text}`)
  ).annotateKey({ messageMissingKey: `--${name} is required` })

/** The frame payload limit (SPEC §3): at least 1 byte, 10 MiB by default. */
const maxFrameBytes = countOr("max-frame-bytes", 1, Frame.DEFAULT_MAX_FRAME_BYTES)

/** `receive --listen ENDPOINT [options]`: PEERS.md's "`receive` options" table. */
export const Receive = Schema.Struct({
  listen: endpoint("listen"),
  respond: oneOf("respond", ["json", "none"], "json"),
  /** Absent: the implementation's default pool size. */
  handlers: Schema.optionalKey(count("handlers", 1)),
  "max-frame-bytes": maxFrameBytes,
  /** Absent: no limit asked for (the implementation's own). */
  "max-connections": Schema.optionalKey(count("max-connections", 1)),
  record: Schema.optionalKey(Schema.String),
  "expect-transactions": Schema.optionalKey(count("expect-transactions", 0))
})
/** The decoded `receive` flags. */
export type Receive = typeof Receive.Type

/** `send --endpoint ENDPOINT [options]`: PEERS.md's "`send` options" table. */
export const Send = Schema.Struct({
  endpoint: endpoint("endpoint"),
  delivery: oneOf("delivery", ["fire-and-forget", "acknowledged"], "fire-and-forget"),
  /** Absent: the implementation's default worker count. */
  workers: Schema.optionalKey(count("workers", 1)),
  queue: countOr("queue", 1, 1000),
  batches: countOr("batches", 0, 1000),
  "tx-per-batch": countOr("tx-per-batch", 0, Workload.DEFAULT_TRANSACTIONS_PER_BATCH),
  "tx-size": countOr("tx-size", 0, Workload.DEFAULT_TRANSACTION_BYTES),
  seed: digits("seed", "an unsigned integer").pipe(
    Schema.decodeTo(
      Schema.BigInt.check(Schema.makeFilter((n) => n < 2n ** 64n || "--seed must fit in 64 bits")),
      SchemaTransformation.bigintFromString
    ),
    Schema.withDecodingDefaultKey(Effect.succeed("1"))
  ),
  "timeout-ms": countOr("timeout-ms", 1, 60_000),
  "max-frame-bytes": maxFrameBytes,
  /** Optional for testees (PEERS.md); absent: the implementation's first delay (100 ms in the references). */
  "transient-retry-ms": Schema.optionalKey(count("transient-retry-ms", 1))
})
/** The decoded `send` flags. */
export type Send = typeof Send.Type

/**
 * Parses `argv` (the flags after the role) with `flags` ({@link Receive} or {@link Send}).
 * Throws a {@link UsageError} naming the first bad flag, or `parseArgs`' own error for an
 * unknown or valueless flag (both satisfy {@link isUsageError}).
 */
export const parse = <A>(
  flags: Schema.Decoder<A> & { readonly fields: Schema.Struct.Fields },
  argv: ReadonlyArray<string>
): A => {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: Object.fromEntries(Object.keys(flags.fields).map((name) => [name, { type: "string" as const }]))
  })
  const decoded = Schema.decodeUnknownResult(flags)(values)
  // The schema's message is the flag's own; the path line below it repeats the flag name.
  if (Result.isFailure(decoded)) throw new UsageError(decoded.failure.message.split("\n")[0])
  return decoded.success
}
