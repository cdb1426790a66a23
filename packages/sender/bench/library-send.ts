/**
 * The library side of `cli-throughput.ts`: `createSender` and a `sendPayload` loop over
 * pre-encoded payloads (read whole from a capture file before the clock starts), timed from the
 * first send to the end of `close`. Prints one JSON line.
 *
 *   tsx --conditions=txlane-source bench/library-send.ts ENDPOINT FILE BATCHES fire-and-forget|acknowledged
 */
import * as Fs from "node:fs"
import { FrameDecoder } from "@txlane/protocol"
import { createSender, Options } from "../src/index.js"

const [endpoint, file, batchesArg, delivery = "fire-and-forget"] = process.argv.slice(2)
if (endpoint === undefined || file === undefined) throw new Error("usage: ENDPOINT FILE BATCHES DELIVERY")
const { frames } = FrameDecoder.make().push(Fs.readFileSync(file))
const payloads = frames.slice(0, Number(batchesArg ?? frames.length))
const acknowledged = delivery === "acknowledged"
const sender = await createSender({ endpoint, delivery: acknowledged ? "acknowledged" : "fire-and-forget" })
const started = performance.now()
if (acknowledged) {
  // As the CLI does: enough sends outstanding to fill every connection's pipeline.
  const window = Math.min(Options.DEFAULT_QUEUE_CAPACITY, Options.DEFAULT_WORKERS * Options.DEFAULT_MAX_IN_FLIGHT)
  let next = 0
  const lane = async () => {
    while (next < payloads.length) await sender.sendPayload(payloads[next++]!).catch(() => undefined)
  }
  await Promise.all(Array.from({ length: window }, lane))
} else {
  for (const p of payloads) await sender.sendPayload(p)
}
const report = await sender.close()
const elapsedMs = performance.now() - started
console.log(
  JSON.stringify({
    elapsedMs: Math.round(elapsedMs),
    batches: payloads.length,
    delivered: report.delivered,
    rejected: report.rejected
  })
)
