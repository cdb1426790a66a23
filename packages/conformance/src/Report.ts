/**
 * The peer contract's JSON lines (PEERS.md): the receiver's ready line and every peer's final
 * report line, decoded with Effect Schema so that a third-party peer's output is checked as
 * strictly as ours.
 *
 * @module
 */
import { Schema } from "effect"

const Count = Schema.Number.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(0))

/** `{"event":"listening","endpoint":"..."}`: the receiver accepts connections at `endpoint`. */
export const Listening = Schema.Struct({
  event: Schema.Literal("listening"),
  endpoint: Schema.String
})
export type Listening = typeof Listening.Type

/** The final report line of a sender or receiver. */
export const Report = Schema.Struct({
  event: Schema.Literal("report"),
  role: Schema.Literals(["sender", "receiver"]),
  impl: Schema.String,
  frames: Count,
  transactions: Count,
  bytes: Count,
  digest: Schema.String.check(Schema.isPattern(/^[0-9a-f]{16}$/)),
  acknowledged: Count,
  undelivered: Count,
  responses: Schema.Struct({ ok: Count, error: Count }),
  errors: Schema.Record(Schema.String, Count),
  /** Whole milliseconds (every PEERS.md number is an integer). */
  elapsedMs: Count
})
export type Report = typeof Report.Type

/** Any line a peer may print on stdout. */
export const Line = Schema.Union([Listening, Report])
export type Line = typeof Line.Type

/** Decodes one stdout line; fails with a `SchemaError` naming the offending field. */
export const decodeLine = Schema.decodeUnknownResult(Schema.fromJsonString(Line))
