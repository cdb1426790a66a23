/**
 * The Effect-API side of `cli-throughput.ts` (mode `effect`): `Sender.make` and `sendPayload` over
 * pre-encoded payloads (read whole from a capture file before the clock starts), acknowledged sends
 * through the command's own lanes (`src/sender/Lanes.ts`, the same window), timed from the first
 * send to the end of `close`, no command around it. Beside `library` (the Promise API) it tells
 * what the public Effect API costs from what the command adds. Prints one JSON line.
 *
 *   tsx --conditions=txlane-source bench/effect-send.ts ENDPOINT FILE BATCHES fire-and-forget|acknowledged
 */
import * as Fs from "node:fs"
import { FrameDecoder } from "@txlane/protocol"
import { Options, Sender } from "@txlane/sender"
import { Effect } from "effect"
import * as Lanes from "../src/sender/Lanes.js"

const [endpoint, file, batchesArg, delivery = "fire-and-forget"] = process.argv.slice(2)
if (endpoint === undefined || file === undefined) throw new Error("usage: ENDPOINT FILE BATCHES DELIVERY")
const { frames } = FrameDecoder.make().push(Fs.readFileSync(file))
const payloads = frames.slice(0, Number(batchesArg ?? frames.length))
const acknowledged = delivery === "acknowledged"

const program = Effect.gen(function* () {
  const sender = yield* Sender.make({ endpoint, delivery: acknowledged ? "acknowledged" : "fire-and-forget" })
  const started = performance.now()
  if (acknowledged) {
    const window = Math.min(Options.DEFAULT_QUEUE_CAPACITY, Options.DEFAULT_WORKERS * Options.DEFAULT_MAX_IN_FLIGHT)
    const lanes = yield* Lanes.make(window, (payload) => Effect.ignore(sender.sendPayload(payload)))
    yield* lanes.feed(payloads)
    lanes.end()
  } else {
    for (const payload of payloads) yield* Effect.ignore(sender.sendPayload(payload))
  }
  const report = yield* sender.close()
  return {
    elapsedMs: Math.round(performance.now() - started),
    batches: payloads.length,
    delivered: report.delivered,
    rejected: report.rejected
  }
})

console.log(JSON.stringify(await Effect.runPromise(Effect.scoped(program))))
