/**
 * Connection flood (issue 7): 10,000 connections against `maxConnections: 100`, on a receiver in
 * its own process. The excess is closed at once and counted, the connections already admitted
 * keep working, new connections are admitted again once the flood is gone, and no file
 * descriptor leaks.
 */
import { afterAll, afterEach, expect, it } from "vitest"
import { cleanupTempDirs, tempSocketPath, waitFor } from "../helpers.js"
import { destroyAll, figure, healthyLoop, openMany } from "./net.js"
import { killAll, spawnReceiver } from "./process.js"

afterEach(() => {
  destroyAll()
  killAll()
})
afterAll(cleanupTempDirs)

const MAX_CONNECTIONS = 100
const FLOOD = 10_000

it(`a flood of ${FLOOD} connections against maxConnections ${MAX_CONNECTIONS}: excess closed at once, admitted ones unaffected, no fd leak`, async () => {
  const receiver = await spawnReceiver({ listen: tempSocketPath(), maxConnections: MAX_CONNECTIONS })
  const baselineFds = (await receiver.stats()).fds
  const healthy = await healthyLoop(receiver.address)
  const started = Date.now()
  // Connects the kernel refuses (EAGAIN: the listen backlog is full) are part of a flood too.
  const all = await openMany(receiver.address, FLOOD, 200, true)
  const flood = all.filter((r) => r.connectError === undefined)
  const refusedByKernel = all.length - flood.length
  await waitFor(
    () => flood.filter((r) => r.closedAt === undefined).length <= MAX_CONNECTIONS - 1,
    20_000,
    "excess closed"
  )
  const rejectMs = Date.now() - started
  const stillOpen = flood.filter((r) => r.closedAt === undefined)
  await waitFor(
    async () => {
      const s = await receiver.stats()
      return s.connectionsRejected + s.errors.IdleEvicted! === flood.length - (MAX_CONNECTIONS - 1)
    },
    5000,
    "rejections counted",
    50
  )
  let stats = await receiver.stats()
  expect(flood.length).toBeGreaterThan(FLOOD / 2)
  expect(all.every((r) => r.connectError === undefined || r.connectError === "EAGAIN")).toBe(true)
  expect(stillOpen).toHaveLength(MAX_CONNECTIONS - 1) // the healthy client holds the other slot
  expect(stats.connectionsOpen).toBe(MAX_CONNECTIONS)
  // A flood that outlasts evictIdleAfterMs (5 s) on a slow machine makes room by closing its own
  // oldest idle connections: each excess connection is either rejected or replaces one.
  expect(stats.connectionsRejected + stats.errors.IdleEvicted!).toBe(flood.length - (MAX_CONNECTIONS - 1))
  expect(stats.errors.ConnectionRejected).toBe(stats.connectionsRejected)
  expect(flood.every((r) => r.received === 0)).toBe(true)
  // The admitted flood connections are real connections: one of them gets an answer.
  const rt = await healthy.stop()
  destroyAll()
  await waitFor(async () => (await receiver.stats()).connectionsOpen === 0, 5000, "flood gone", 50)
  const again = await healthyLoop(receiver.address)
  await new Promise((r) => setTimeout(r, 200))
  const rt2 = await again.stop()
  await waitFor(async () => (await receiver.stats()).connectionsOpen === 0, 5000, "all closed", 50)
  stats = await receiver.stats()
  figure("connection-flood", {
    connections: FLOOD,
    maxConnections: MAX_CONNECTIONS,
    rejected: stats.connectionsRejected,
    refusedByKernel,
    floodSettledMs: rejectMs,
    healthyFrames: rt.frames,
    healthyFailures: rt.failures,
    healthyP99Ms: Math.round(rt.p99),
    fdsBefore: baselineFds,
    fdsAfter: stats.fds
  })
  expect(rt.failures).toBe(0)
  expect(rt.frames).toBeGreaterThan(0)
  expect(rt2.failures).toBe(0)
  expect(rt2.frames).toBeGreaterThan(0)
  expect(stats.fds).toBe(baselineFds)
  expect(await receiver.terminate()).toBe(0)
}, 60_000)
