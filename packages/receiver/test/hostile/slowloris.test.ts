/**
 * Slow-loris (issue 7): 1,000 connections each stuck inside a frame, trickling a byte now and
 * then, against a receiver in its own process. Every one is closed by `frameTimeoutMs` — not
 * before it, and not long after — while a well-behaved connection keeps its round trips short.
 */
import { afterAll, afterEach, expect, it } from "vitest"
import { cleanupTempDirs, header, tempSocketPath, waitFor } from "../helpers.js"
import { destroyAll, figure, healthyLoop, openMany } from "./net.js"
import { killAll, spawnReceiver } from "./process.js"

afterEach(() => {
  destroyAll()
  killAll()
})
afterAll(cleanupTempDirs)

const SLOW = 1000
const FRAME_TIMEOUT_MS = 2000
// The receiver's timer fires within a tick; the rest is a loaded 2-core machine.
const CLOSE_SLACK_MS = 5000

it(`${SLOW} slow-loris connections are all closed by frameTimeoutMs; a healthy connection is unaffected`, async () => {
  const receiver = await spawnReceiver({
    listen: tempSocketPath(),
    frameTimeoutMs: FRAME_TIMEOUT_MS,
    maxConnections: 2048
  })
  const slow = await openMany(receiver.address, SLOW)
  const firstByteAt = new Map<(typeof slow)[number], number>()
  for (const raw of slow) {
    raw.socket.write(Buffer.concat([header(1000), Buffer.alloc(10, 7)]))
    firstByteAt.set(raw, Date.now())
  }
  // Trickle: one more byte every 300 ms on every open connection (a slow-loris, not a dead peer).
  const trickle = setInterval(() => {
    for (const raw of slow) if (raw.closedAt === undefined) raw.socket.write(Buffer.of(1))
  }, 300)
  const healthy = await healthyLoop(receiver.address)
  try {
    await waitFor(
      () => slow.every((r) => r.closedAt !== undefined),
      FRAME_TIMEOUT_MS + CLOSE_SLACK_MS + 10_000,
      "all closed"
    )
  } finally {
    clearInterval(trickle)
  }
  const rt = await healthy.stop()
  const lifetimes = slow.map((r) => r.closedAt! - firstByteAt.get(r)!)
  const stats = await receiver.stats()
  figure("slow-loris", {
    connections: SLOW,
    frameTimeoutMs: FRAME_TIMEOUT_MS,
    closedMinMs: Math.min(...lifetimes),
    closedMaxMs: Math.max(...lifetimes),
    frameTimeouts: stats.errors.FrameTimeout,
    healthyFrames: rt.frames,
    healthyFailures: rt.failures,
    healthyP99Ms: Math.round(rt.p99),
    healthyMaxMs: Math.round(rt.max)
  })
  expect(Math.min(...lifetimes)).toBeGreaterThanOrEqual(FRAME_TIMEOUT_MS)
  expect(Math.max(...lifetimes)).toBeLessThan(FRAME_TIMEOUT_MS + CLOSE_SLACK_MS)
  expect(slow.every((r) => r.received === 0)).toBe(true) // closed without a response: there was no frame
  expect(stats.errors.FrameTimeout).toBe(SLOW)
  expect(stats.framesReceived).toBe(rt.frames)
  expect(rt.failures).toBe(0)
  expect(rt.frames).toBeGreaterThan(20)
  expect(rt.max).toBeLessThan(2000)
  expect(await receiver.terminate()).toBe(0)
}, 60_000)
