/**
 * What the sender's and the receiver's option schemas share: schema pieces for the values
 * Effect's Schema has no ready-made type for (durations, callbacks), and the translation of a
 * failed decode into the one `InvalidOptions` error of every package.
 *
 * @internal
 * @module
 */
import { Duration, Schema, SchemaIssue } from "effect"
import { InvalidOptions } from "../errors.js"

const isDuration = (u: unknown, min: number): boolean => {
  const d = Duration.fromInput(u as Duration.Input)
  return d._tag === "Some" && Duration.isFinite(d.value) && Duration.toMillis(d.value) >= min
}

/** A finite `Duration.Input` of at least `min` milliseconds. */
export const duration = (min: number) =>
  Schema.declare((u: unknown): u is Duration.Input => isDuration(u, min), {
    expected: `a finite duration of at least ${min} ms (milliseconds or a Duration.Input)`
  })

/** A `duration(min)` or the word `"unbounded"`. */
export const durationLimit = (min: number) =>
  Schema.declare((u: unknown): u is Duration.Input | "unbounded" => u === "unbounded" || isDuration(u, min), {
    expected: `a duration of at least ${min} ms (milliseconds or a Duration.Input) or "unbounded"`
  })

/** A function (its signature is the caller's to state: a schema cannot check it). */
export const fn = <F>() => Schema.declare((u: unknown): u is F => typeof u === "function", { expected: "a function" })

/** The first issue of a failed decode of `input`, as `InvalidOptions` with the field's path and value. */
export const invalidOptions = (error: Schema.SchemaError, input: unknown): InvalidOptions => {
  const issue = SchemaIssue.makeFormatterStandardSchemaV1()(error.issue).issues[0]
  const path = (issue?.path ?? []).map((p) => (typeof p === "object" ? p.key : p))
  let value: unknown = input
  for (const key of path) value = typeof value === "object" && value !== null ? Reflect.get(value, key) : undefined
  const got = typeof value === "function" ? "a function" : typeof value === "object" ? "an object" : String(value)
  return new InvalidOptions({
    option: path.length === 0 ? "options" : path.map(String).join("."),
    reason: `${issue?.message ?? String(error)}, got ${got}`
  })
}
