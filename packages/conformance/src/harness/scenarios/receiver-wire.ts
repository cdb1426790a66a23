/**
 * The harness as a raw client of a receiver: exact-size envelopes, one exchange of bytes on a
 * fresh connection, and the cases of receiver-only scenarios.
 *
 * @module
 */
import { Envelope, FrameEncoder, type Response } from "@txlane/protocol"
import { Effect } from "effect"
import type { Transport } from "../Cells.js"
import { decodeError, mismatch } from "../Outcome.js"
import type { Impl } from "../Peers.js"
import * as Wire from "../Wire.js"
import type { CaseInfo, Plan } from "./model.js"

/** `payload` as one frame. */
export const frame = (payload: Uint8Array): Uint8Array => FrameEncoder.concat([payload])

/** A one-transaction envelope whose payload is exactly `size` bytes (size ≥ 3). */
export const envelopeOfSize = (size: number, fill = 0x5a): { payload: Uint8Array; tx: Uint8Array } => {
  // payload = tag(1) + varint(len) + len: shrink len until the encoded envelope fits (a few
  // steps at most: the varint is 1 to 5 bytes), measuring with the protocol's own encoder.
  for (let len = size - 2; len > 0; len--) {
    const tx = new Uint8Array(len).fill(fill)
    const payload = Envelope.encode([tx])
    if (payload.length === size) return { payload, tx }
    if (payload.length < size) break
  }
  throw new RangeError(`no single-transaction envelope of ${size} bytes`)
}

/** The case of a receiver-only scenario. */
export const receiverCase = (scenario: string, r: Impl, t: Transport, variant?: string): CaseInfo => ({
  id: `${scenario}${variant ? `.${variant}` : ""}/${r.name}/${t}`,
  scenario,
  row: variant ?? r.name,
  col: variant ? `${r.name} ${t}` : t,
  receiver: r.name,
  transport: t
})

/** Whether `got` matches `want`, field by field (an error ending in `…` matches as a prefix). */
export const sameResponses = (got: ReadonlyArray<Response.Response>, want: ReadonlyArray<Record<string, unknown>>) =>
  got.length === want.length &&
  want.every((w, i) => {
    const g = got[i] as Record<string, unknown>
    return Object.entries(w).every(([k, v]) =>
      k === "error" && typeof v === "string" && v.endsWith("…") && typeof g.error === "string"
        ? g.error.startsWith(v.slice(0, -1))
        : g[k] === v
    )
  })

/** Sends `input` on a fresh connection and checks the responses and the close (a SPEC §10 receiver vector). */
export const exchange = (
  endpoint: string,
  input: Uint8Array,
  want: ReadonlyArray<Record<string, unknown>>,
  closes: boolean
) =>
  Effect.scoped(
    Effect.gen(function* () {
      const client = yield* Wire.connect(endpoint)
      // A receiver may close (and reset) before it has read everything we wrote: not our failure.
      yield* client.write(input).pipe(Effect.ignore)
      const state = yield* client.waitFor(
        `${want.length} responses${closes ? " and a close" : ""}`,
        (s) =>
          s.malformed.length > 0 ||
          s.responses.length > want.length ||
          (s.responses.length >= want.length && (!closes || s.closed)) ||
          (s.closed && s.responses.length < want.length),
        5000
      )
      if (state.malformed.length > 0) return yield* decodeError(`malformed response: ${state.malformed[0]}`)
      // Give a wrong extra response or an early close a moment to show up.
      if (!closes) yield* Effect.sleep(50)
      const after = client.state()
      if (!sameResponses(after.responses, want))
        return yield* mismatch(`responses ${JSON.stringify(after.responses)}, expected ${JSON.stringify(want)}`)
      if (closes && !after.closed) return yield* mismatch("connection not closed")
      if (!closes && after.closed) return yield* mismatch(`connection closed${after.error ? ` (${after.error})` : ""}`)
      return `${want.length} responses${closes ? ", closed" : ""}`
    })
  )

/** The receivers a plan runs receiver-only scenarios on. */
export const receiversOf = (plan: Plan): ReadonlyArray<Impl> => (plan.receiverScenarios === false ? [] : plan.receivers)
