/**
 * Faults with real processes and signals (issue 7):
 * - the receiver SIGKILLed mid-stream and restarted on the same path, repeatedly: in
 *   acknowledged mode every acknowledged batch was submitted (recorded before its response)
 *   and none is lost, duplicates counted; in fire-and-forget mode the loss is bounded by the
 *   sender's `unanswered` count (what was in flight) and shows in its metrics;
 * - senders SIGKILLed in the middle of 4 MiB frames: the receiver discards and counts the
 *   partial frames, never submits one, and keeps serving a well-behaved sender.
 *
 * CI runs 5 kills each; `TXLANE_RELIABILITY_FULL=1` runs 20.
 */
import * as Path from "node:path"
import { setTimeout as sleep } from "node:timers/promises"
import { Workload } from "@txlane/protocol/testing"
import { createSender, type SenderHandle } from "@txlane/sender"
import { Poll, Window } from "@txlane/testkit"
import { afterAll, afterEach, describe, expect, it } from "vitest"
import { killAll, spawnSender, startReceiver } from "./lib/process.js"
import { batchKey, compare, type Incarnation, incarnations, readRecord } from "./lib/record.js"
import { cleanupTempDirs, FULL, figure, tempDir } from "./lib/util.js"

const KILLS = FULL ? 20 : 5
const senders: Array<SenderHandle> = []

afterEach(async () => {
  killAll()
  await Promise.all(senders.splice(0).map((s) => s.close({ timeoutMs: 1000 })))
})
afterAll(cleanupTempDirs)

/** Sends workload batches (10 × 200 B) until `stop()`, `window` outstanding; records outcomes by batch key. */
const produce = (sender: SenderHandle, window = 256) => {
  const acked = new Set<string>()
  const accepted = new Set<string>()
  const failures: Record<string, number> = {}
  const inFlight = new Window.Window(window)
  let running = true
  const done = (async () => {
    for (const txs of Workload.batches({ batches: 10_000_000, txPerBatch: 10, txSize: 200, seed: 42 })) {
      if (!running) break
      if (accepted.size % 64 === 63) await new Promise((r) => setImmediate(r))
      const key = batchKey(txs)
      accepted.add(key)
      const p: Promise<void> = sender.send(txs).then(
        () => {
          acked.add(key)
        },
        (error: { _tag?: string }) => {
          failures[error._tag ?? "Error"] = (failures[error._tag ?? "Error"] ?? 0) + 1
        }
      )
      await inFlight.add(p)
    }
    await inFlight.drain()
  })()
  return {
    acked,
    accepted,
    failures,
    stop: async () => {
      running = false
      await done
    }
  }
}

/** A receiver process and the record file it alone writes. */
interface Receiver {
  readonly child: Awaited<ReturnType<typeof startReceiver>>
  readonly incarnation: Incarnation
}

/** Starts receivers on one socket path, each recording to a fresh file (see lib/record.ts). */
const receiversOn = (dir: string, options: { readonly maxConnections?: number } = {}) => {
  const listen = Path.join(dir, "r.sock")
  const records = incarnations(dir)
  const start = async (): Promise<Receiver> => {
    const incarnation = records.next()
    return { child: await startReceiver({ ...options, listen, record: incarnation.record }), incarnation }
  }
  return { listen, start, read: records.read }
}

/** Kills the receiver `KILLS` times at random moments of the stream, restarting it each time. */
const killLoop = async (start: () => Promise<Receiver>, first: Receiver, sender: SenderHandle) => {
  let receiver = first
  let midStream = 0
  const rng = new Workload.SplitMix64(7n)
  for (let k = 0; k < KILLS; k++) {
    await Poll.waitFor(() => sender.stats().inFlight > 0 || sender.stats().queued > 0, 10_000, "traffic before a kill")
    await sleep(150 + rng.nextMod(450))
    if (sender.stats().inFlight > 0) midStream++
    receiver.child.signal("SIGKILL")
    receiver.incarnation.killed = true
    expect(await receiver.child.exited).toBe("SIGKILL")
    receiver = await start() // same path: the dead receiver's socket file is stale and is replaced
  }
  return { receiver, midStream }
}

describe("receiver SIGKILLed mid-stream and restarted", () => {
  it(`acknowledged: ${KILLS} kills; every acknowledged batch was submitted, none lost, duplicates counted`, async () => {
    const { listen, start, read } = receiversOn(tempDir())
    const first = await start()
    const sender = await createSender({
      endpoint: listen,
      delivery: "acknowledged",
      workers: 4,
      retries: "unbounded",
      ackTimeoutMs: 10_000
    })
    senders.push(sender)
    const load = produce(sender)
    const t0 = Date.now()
    const { receiver, midStream } = await killLoop(start, first, sender)
    await sleep(300)
    await load.stop() // every send settles: acknowledged by the last receiver, or failed
    const stats = sender.stats()
    receiver.child.signal("SIGTERM")
    await receiver.child.next("report")
    const result = compare(load.acked, read()) // throws on a torn tail of the last, SIGTERMed receiver
    figure("sigkill-receiver-acknowledged", {
      kills: KILLS,
      killsWithFramesInFlight: midStream,
      seconds: Math.round((Date.now() - t0) / 1000),
      accepted: load.accepted.size,
      ...result,
      failures: load.failures,
      retries: stats.retries,
      reconnects: stats.reconnects
    })
    expect(midStream).toBeGreaterThanOrEqual(Math.ceil(KILLS / 2))
    expect(load.failures).toEqual({})
    expect(result.acknowledged).toBe(load.accepted.size)
    expect(result.lost).toBe(0)
    expect(stats.retries).toBeGreaterThan(0)
  })

  it(`fire-and-forget: ${KILLS} kills; loss is bounded by the frames in flight and visible in the metrics`, async () => {
    const { listen, start, read } = receiversOn(tempDir())
    const first = await start()
    const sender = await createSender({ endpoint: listen, workers: 4 })
    senders.push(sender)
    const load = produce(sender, 64)
    const { receiver, midStream } = await killLoop(start, first, sender)
    await sleep(300)
    await load.stop()
    const metrics = sender.metrics() // before close: the series go away with the sender
    const report = await sender.close({ timeoutMs: 10_000 })
    receiver.child.signal("SIGTERM")
    await receiver.child.next("report")
    // Fire-and-forget has no acknowledgements: what was lost is measured against what was accepted.
    const { lost, duplicates, tornTails } = compare(load.accepted, read())
    const unansweredMetric = Number(/txlane_sender_unanswered_total\{[^}]*\} (\d+)/.exec(metrics)?.[1] ?? Number.NaN)
    figure("sigkill-receiver-fire-and-forget", {
      kills: KILLS,
      killsWithFramesInFlight: midStream,
      accepted: load.accepted.size,
      lost,
      duplicates,
      tornTails,
      unanswered: report.unanswered,
      unansweredMetric,
      failed: report.failed,
      undelivered: report.undelivered.length
    })
    expect(load.failures).toEqual({})
    expect(lost).toBeLessThanOrEqual(report.unanswered + report.failed + report.undelivered.length)
    expect(unansweredMetric).toBeGreaterThan(0)
    expect(unansweredMetric).toBeLessThanOrEqual(report.unanswered)
    expect(report.unanswered).toBeGreaterThan(0) // the kills did hit frames in flight
  })
})

describe("receiver at its connection limit", () => {
  // maxConnections 1 against a 4-worker sender: the receiver accepts and closes the sender's
  // other connections at once, each time they reconnect. The one it serves must deliver it all.
  const SECONDS = FULL ? 10 : 2
  it.each([
    ["acknowledged", true],
    ["fire-and-forget", false]
  ] as const)(
    `%s: ${SECONDS} s against maxConnections 1; every batch submitted, none failed`,
    async (mode, acknowledged) => {
      const { listen, start, read } = receiversOn(tempDir(), { maxConnections: 1 })
      const receiver = await start()
      const sender = await createSender({
        endpoint: listen,
        workers: 4,
        ...(acknowledged ? { delivery: "acknowledged" as const } : {})
      })
      senders.push(sender)
      const load = produce(sender, acknowledged ? 256 : 64)
      await sleep(SECONDS * 1000)
      await load.stop()
      const report = await sender.close({ timeoutMs: 10_000 })
      const stats = sender.stats()
      const rejected = (await receiver.child.stats()).connectionsRejected
      receiver.child.signal("SIGTERM")
      await receiver.child.next("report")
      const { lost, duplicates } = compare(load.accepted, read())
      figure(`connection-limit-${mode}`, {
        seconds: SECONDS,
        accepted: load.accepted.size,
        lost,
        duplicates,
        failed: report.failed,
        undelivered: report.undelivered.length,
        retries: report.retries,
        connects: stats.connects,
        rejectedByReceiver: rejected
      })
      expect(rejected).toBeGreaterThan(0) // the limit was hit
      expect(load.failures).toEqual({})
      expect(report.failed).toBe(0)
      expect(report.undelivered).toEqual([])
      expect(lost).toBe(0)
      // A refused connection is a failed connect: the refused workers wait on the reconnect
      // schedule (capped at 1 s), they do not reconnect in a loop.
      expect(stats.connects).toBeLessThanOrEqual(1 + 3 * (SECONDS + 8))
    }
  )
})

describe("sender SIGKILLed mid-frame", () => {
  it(`${KILLS} senders killed while writing 4 MiB frames: partial frames discarded and counted, never submitted; others keep being served`, async () => {
    const dir = tempDir()
    const listen = Path.join(dir, "r.sock")
    const record = Path.join(dir, "record.bin")
    const receiver = await startReceiver({ listen, record })
    const healthy = await createSender({ endpoint: listen, delivery: "acknowledged", workers: 1 })
    senders.push(healthy)
    const load = produce(healthy, 16)
    const rng = new Workload.SplitMix64(11n)
    for (let k = 0; k < KILLS; k++) {
      // 64 × 64 KiB transactions: 4 MiB frames, fire-and-forget, as fast as the socket takes them.
      const victim = spawnSender({
        endpoint: listen,
        workers: 2,
        queueCapacity: 4,
        batches: 0,
        txPerBatch: 64,
        txSize: 65_536,
        seed: 100 + k
      })
      await Poll.waitFor(
        () =>
          victim.lines.some((l) => l.event === "progress" && ((l.stats as { bytesSent: number }).bytesSent ?? 0) > 0),
        20_000,
        "the victim sending"
      )
      await sleep(50 + rng.nextMod(250))
      victim.signal("SIGKILL")
      expect(await victim.exited).toBe("SIGKILL")
    }
    await sleep(500)
    await load.stop()
    receiver.send("stats")
    const stats = (await receiver.next("stats")) as unknown as { errors: Record<string, number>; frames: number }
    receiver.signal("SIGTERM")
    await receiver.next("report")
    // Throws unless every recorded frame is a whole, valid envelope: this receiver was never killed.
    const recorded = readRecord(record, { killed: false })
    figure("sigkill-sender-mid-frame", {
      kills: KILLS,
      truncatedFrames: stats.errors.TruncatedFrame,
      framesRecorded: recorded.frames,
      healthyAcked: load.acked.size,
      healthyFailures: load.failures
    })
    expect(stats.errors.TruncatedFrame).toBeGreaterThanOrEqual(Math.ceil(KILLS / 2))
    expect(stats.errors.TruncatedFrame).toBeLessThanOrEqual(KILLS * 2) // at most one per victim connection
    expect(load.failures).toEqual({})
    expect(load.acked.size).toBe(load.accepted.size)
    expect(load.acked.size).toBeGreaterThan(0)
  })
})
