/**
 * Per-frame JSON responses (SPEC.md §5), in the deployed server's shape:
 * `{"success":true,"count":N,...}` or `{"success":false,"error":"..."}`.
 *
 * @module
 */
import { Result, Schema } from "effect"
import { MalformedResponse } from "./errors.js"

/** A response object. Fields other than `success`, `count` and `error` are kept as they are. */
export const Response = Schema.StructWithRest(
  Schema.Struct({
    success: Schema.Boolean,
    count: Schema.optionalKey(Schema.Number.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(0))),
    error: Schema.optionalKey(Schema.String)
  }),
  [Schema.Record(Schema.String, Schema.Unknown)]
)

/** A decoded response. */
export type Response = typeof Response.Type

/**
 * Error texts, identical to the deployed Rust server's for the same cases (SPEC.md §6).
 */
export const ErrorText = {
  /** A frame above the receiver's `maxFrameBytes`. */
  tooLarge: (length: number, max: number): string => `Transaction too large: ${length} bytes (max: ${max})`,
  /** A frame with no transactions. */
  empty: "Empty Transactions message",
  /** A payload that is not a `Transactions` envelope. */
  invalid: (reason: string): string => `Invalid Transactions protobuf: ${reason}`,
  /** The application's `submit` failed. */
  submitFailed: (reason: string): string => `Transaction submission failed: ${reason}`
} as const

/**
 * What an error answer says about its batch.
 * - `"transient"`: the peer could not take it *now* (the deployed server while it starts or changes
 *   epoch: `Node not ready to accept transactions: …`, or `Node not ready: …` followed by a close).
 *   Not a verdict on the batch: a sender retries it later.
 * - `"out-of-step"`: the peer refused the frame as too large; the deployed server does so without
 *   consuming the payload and then reads the rest of the stream out of step, so nothing it answers
 *   on that connection afterwards can be trusted (SPEC §9).
 * - `"final"`: a verdict on the batch (invalid, empty, submission failed, anything else).
 */
export type ErrorKind = "transient" | "out-of-step" | "final"

/** The default classification of an error answer's text (see {@link ErrorKind}). */
export const classifyError = (error: string): ErrorKind =>
  error.startsWith("Node not ready") ? "transient" : error.startsWith("Transaction too large") ? "out-of-step" : "final"

/** `{"success":true,"count":count}`. */
export const success = (count: number): Response => ({ success: true, count })

/** `{"success":false,"error":error}`. */
export const failure = (error: string): Response => ({ success: false, error })

const utf8 = new TextEncoder()
const strictUtf8 = new TextDecoder("utf-8", { fatal: true })
const decodeObject = Schema.decodeUnknownResult(Response)

/**
 * The {@link Response} schema's check, written out for the hot path: a sender decodes one answer
 * per batch, and the schema's decoder allocated ~3 KB for each (a quarter of an acknowledged
 * batch's garbage). Anything it rejects goes to the schema, which stays the authority and words
 * the error; a property test holds the two to the same verdict.
 */
const isResponse = (json: { readonly [key: string]: unknown }): json is Response => {
  if (typeof json.success !== "boolean") return false
  if (Object.hasOwn(json, "count")) {
    const count = json.count
    if (typeof count !== "number" || !Number.isSafeInteger(count) || count < 0) return false
  }
  return !Object.hasOwn(json, "error") || typeof json.error === "string"
}

/** Encodes a response as its UTF-8 JSON payload (frame it with `FrameEncoder`). */
export const encode = (response: Response): Uint8Array => utf8.encode(JSON.stringify(response))

/** Decodes a response payload. */
export const decode = (payload: Uint8Array): Result.Result<Response, MalformedResponse> => {
  let json: unknown
  try {
    json = JSON.parse(strictUtf8.decode(payload))
  } catch (cause) {
    return Result.fail(new MalformedResponse({ reason: cause instanceof Error ? cause.message : String(cause) }))
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return Result.fail(new MalformedResponse({ reason: "not a JSON object" }))
  }
  if (isResponse(json as { readonly [key: string]: unknown })) return Result.succeed(json as Response)
  return Result.mapError(decodeObject(json), (error) => new MalformedResponse({ reason: error.message }))
}
