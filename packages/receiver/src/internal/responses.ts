/**
 * Framed JSON responses, ready to write (SPEC §5–§6).
 *
 * Success responses are cached by count: in the steady state every frame of a workload has the
 * same count, so answering costs one lookup and one `write`, no JSON and no allocation.
 *
 * @module
 */
import { Frame, Response } from "@txlane/protocol"

// Counts up to this are cached; real batches hold tens to hundreds of transactions.
const CACHED_COUNTS = 4096
const successCache: Array<Buffer | undefined> = []

/** A whole response frame (header + JSON payload) in one buffer: one `write` per response. */
export const frame = (response: Response.Response): Buffer => {
  const payload = Response.encode(response)
  const out = Buffer.allocUnsafe(Frame.HEADER_BYTES + payload.length)
  Frame.writeLength(out, 0, payload.length)
  out.set(payload, Frame.HEADER_BYTES)
  return out
}

/** `{"success":true,"count":count}`, framed. */
export const success = (count: number): Buffer => {
  if (count >= CACHED_COUNTS) return frame(Response.success(count))
  let cached = successCache[count]
  if (cached === undefined) {
    cached = frame(Response.success(count))
    successCache[count] = cached
  }
  return cached
}

/** `{"success":false,"error":error}`, framed. */
export const failure = (error: string): Buffer => frame(Response.failure(error))

/** `Empty Transactions message`, framed once. */
export const empty: Buffer = failure(Response.ErrorText.empty)
