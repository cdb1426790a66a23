/**
 * An open-loop pacer that does not spin the event loop.
 *
 * Node's timers have a 1 ms resolution, too coarse for 10k batches/s. The first latency sender
 * spun `setImmediate` between batches instead: that kept one of the machine's two cores busy and
 * allocated an `Immediate` per turn (a scavenge every ~70 ms at 1k/s), so the probe itself made
 * the scheduler and GC stalls it was meant to measure. Here a worker thread sleeps until each
 * batch is due (`Atomics.wait`, a futex with sub-millisecond timeouts) and posts a tick; the main
 * thread wakes on it like on any I/O and sends whatever is due by its own clock.
 *
 * @module
 */
import { Worker } from "node:worker_threads"

/** Calls `onTick` on the main thread when (or soon after) each of `startAt + i × intervalMs` is due. */
export interface Pacer {
  readonly stop: () => Promise<void>
}

// The worker's whole program: sleep to the next due time (absolute, `timeOrigin + now()`, which
// both threads share), post, repeat. Ticks closer than `minGapMs` are merged. The main thread
// stops it by setting the shared cell to 1 and notifying, which also cuts a sleep short.
const workerSource = `
const { parentPort, workerData } = require("node:worker_threads")
const { startAbs, intervalMs, stopAbs, minGapMs, control } = workerData
const cell = new Int32Array(control)
const now = () => performance.timeOrigin + performance.now()
const step = Math.max(intervalMs, minGapMs)
let next = startAbs
while (Atomics.load(cell, 0) === 0 && next < stopAbs) {
  const wait = next - now()
  if (wait > 0 && Atomics.wait(cell, 0, 0, wait) !== "timed-out") break
  parentPort.postMessage(0)
  next += step
  // A late wake-up posts once, not once per missed slot: the main thread sends by its own clock.
  const t = now()
  if (next < t) next = t
}
`

export const startPacer = (options: {
  /** `performance.now()` of the main thread at which the first batch is due. */
  readonly startAt: number
  readonly intervalMs: number
  /** `performance.now()` after which no tick is posted (`Infinity`: until stopped). */
  readonly stopAt: number
  readonly onTick: () => void
}): Pacer => {
  const control = new SharedArrayBuffer(4)
  const worker = new Worker(workerSource, {
    eval: true,
    workerData: {
      startAbs: performance.timeOrigin + options.startAt,
      stopAbs: performance.timeOrigin + options.stopAt,
      intervalMs: options.intervalMs,
      minGapMs: 0.02,
      control
    }
  })
  worker.on("message", options.onTick)
  return {
    stop: async () => {
      const cell = new Int32Array(control)
      Atomics.store(cell, 0, 1)
      Atomics.notify(cell, 0)
      await worker.terminate()
    }
  }
}
