/**
 * Memory attack (issue 7): 200 connections each announce a 9 MiB frame (legal: under the
 * 10 MiB limit) and send it slowly, never finishing — 1.8 GiB announced. The receiver, in its own
 * process, must hold its memory budget: `bufferedBytes` stays within the README's bound
 * (`maxBufferedBytes + connections × 64 KiB`, plus one socket read per connection), its RSS stays
 * under a stated ceiling, legitimate 32 KiB frames keep flowing, and `frameTimeoutMs` finally
 * cuts every attacker and gives all the memory back.
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

const ATTACKERS = 200
const ANNOUNCED = 9 * 1024 * 1024
const MAX_BUFFERED = 64 * 1024 * 1024 // the default maxBufferedBytes
const FREE_PARTIAL = 64 * 1024 // per connection, outside the budget (README "Memory bound")
const SOCKET_READ = 64 * 1024 // one read admitted per connection before a pause takes effect
const FRAME_TIMEOUT_MS = 8000
const ATTACK_MS = 5000
const CHUNK = 64 * 1024
// Stated bounds for the receiver's RSS: growth at most the byte bound (~89 MiB) plus allocator
// and socket-buffer slack, and an absolute ceiling (the child starts at ~130 MiB under tsx).
// A receiver that buffered what was announced would need 1.8 GiB.
const RSS_GROWTH_CEILING = 160 * 1024 * 1024
const RSS_CEILING = 320 * 1024 * 1024

it(`${ATTACKERS} connections × a slow 9 MiB frame: maxBufferedBytes holds, RSS grows < 160 MiB, legitimate traffic flows`, async () => {
  const receiver = await spawnReceiver({ listen: tempSocketPath(), frameTimeoutMs: FRAME_TIMEOUT_MS })
  const baselineRss = receiver.rss()
  const attackers = await openMany(receiver.address, ATTACKERS)
  const sent = new Map<(typeof attackers)[number], number>()
  for (const a of attackers) {
    a.socket.write(header(ANNOUNCED))
    sent.set(a, 0)
  }
  const payload = Buffer.alloc(CHUNK, 0x5a)
  // "Slowly": every 25 ms each attacker adds 64 KiB if its socket has drained, stopping 1 byte short.
  const pump = setInterval(() => {
    for (const a of attackers) {
      const n = sent.get(a)!
      if (a.closedAt !== undefined || a.socket.writableLength > 0 || n >= ANNOUNCED - 1) continue
      const take = Math.min(CHUNK, ANNOUNCED - 1 - n)
      a.socket.write(take === CHUNK ? payload : payload.subarray(0, take))
      sent.set(a, n + take)
    }
  }, 25)
  const healthy = await healthyLoop(receiver.address)
  let maxRss = 0
  let maxBuffered = 0
  let maxPaused = 0
  const until = Date.now() + ATTACK_MS
  try {
    while (Date.now() < until) {
      const s = await receiver.stats()
      maxRss = Math.max(maxRss, receiver.rss())
      maxBuffered = Math.max(maxBuffered, s.bufferedBytes)
      maxPaused = Math.max(maxPaused, s.connectionsPaused)
      await new Promise((r) => setTimeout(r, 50))
    }
  } finally {
    clearInterval(pump)
  }
  const during = await healthy.stop()
  const offered = [...sent.values()].reduce((a, b) => a + b, 0)
  // frameTimeoutMs then cuts every attacker, and the memory is given back.
  await waitFor(() => attackers.every((a) => a.closedAt !== undefined), FRAME_TIMEOUT_MS + 15_000, "attackers cut")
  await waitFor(async () => (await receiver.stats()).connectionsOpen === 0, 5000, "connections closed", 50)
  const after = await receiver.stats()
  const bound = MAX_BUFFERED + ATTACKERS * (FREE_PARTIAL + SOCKET_READ)
  figure("memory-attack", {
    attackers: ATTACKERS,
    announcedBytes: ATTACKERS * ANNOUNCED,
    offeredBytes: offered,
    maxBufferedBytes: maxBuffered,
    boundBytes: bound,
    maxPaused,
    baselineRss,
    maxRss,
    rssGrowth: maxRss - baselineRss,
    rssGrowthCeiling: RSS_GROWTH_CEILING,
    rssCeiling: RSS_CEILING,
    healthyFrames: during.frames,
    healthyFailures: during.failures,
    healthyP99Ms: Math.round(during.p99),
    frameTimeouts: after.errors.FrameTimeout,
    bufferedAfter: after.bufferedBytes
  })
  expect(offered).toBeGreaterThan(MAX_BUFFERED) // the attack did push past the budget (then was paused)
  expect(maxBuffered).toBeGreaterThan(MAX_BUFFERED / 2) // and the budget was really in use
  expect(maxBuffered).toBeLessThanOrEqual(bound)
  expect(maxPaused).toBeGreaterThan(0)
  expect(maxRss - baselineRss).toBeLessThan(RSS_GROWTH_CEILING)
  expect(maxRss).toBeLessThan(RSS_CEILING)
  expect(during.failures).toBe(0)
  expect(during.frames).toBeGreaterThan(20)
  expect(after.errors.FrameTimeout).toBe(ATTACKERS)
  expect(after.bufferedBytes).toBe(0)
  expect(after.queuedFrames).toBe(0)
  expect(await receiver.terminate()).toBe(0)
}, 90_000)
