/**
 * Idle connections holding every slot (issue 12, item 7): 100 connections that connect and say
 * nothing, against a receiver (own process) with `maxConnections: 100` and the default idle
 * options. Before the fix the idle timeout was unbounded by default and nothing else freed a
 * slot: every later client was closed at once, for ever. Now, at the limit, a new connection
 * replaces the connection idle longest once it has been idle `evictIdleAfterMs` (default 5 s),
 * and idle connections time out after `idleTimeoutMs` (default 60 s) regardless.
 */
import * as Net from "node:net"
import { afterAll, afterEach, expect, it } from "vitest"
import { cleanupTempDirs, tempSocketPath } from "../helpers.js"
import { destroyAll, figure, openMany, upstreamFrame } from "./net.js"
import { killAll, spawnReceiver } from "./process.js"

afterEach(() => {
  destroyAll()
  killAll()
})
afterAll(cleanupTempDirs)

const MAX_CONNECTIONS = 100
const EVICT_IDLE_AFTER_MS = 5000 // the default
const GIVE_UP_MS = 20_000

// One attempt of a legitimate client: connect, send one frame, wait up to 2 s for its answer.
const tryOnce = (path: string, frame: Buffer): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = Net.connect({ path })
    let received = 0
    const done = (ok: boolean) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(ok)
    }
    const timer = setTimeout(() => done(false), 2000)
    socket.on("connect", () => socket.write(frame))
    socket.on("data", (d) => {
      received += d.length
      if (received > 4) done(true)
    })
    socket.on("error", () => done(false))
    socket.on("close", () => done(received > 4))
  })

it(`${MAX_CONNECTIONS} idle connections against maxConnections ${MAX_CONNECTIONS}: a legitimate client gets in once they are idle ${EVICT_IDLE_AFTER_MS} ms`, async () => {
  const receiver = await spawnReceiver({ listen: tempSocketPath(), maxConnections: MAX_CONNECTIONS })
  const idle = await openMany(receiver.address, MAX_CONNECTIONS)
  const started = Date.now()
  const frame = upstreamFrame()
  let attempts = 0
  let servedAfterMs = -1
  while (Date.now() - started < GIVE_UP_MS) {
    attempts++
    if (await tryOnce(receiver.address, frame)) {
      servedAfterMs = Date.now() - started
      break
    }
    await new Promise((r) => setTimeout(r, 250))
  }
  const stats = await receiver.stats()
  figure("idle-lockout", {
    idleConnections: MAX_CONNECTIONS,
    maxConnections: MAX_CONNECTIONS,
    servedAfterMs,
    attempts,
    rejected: stats.connectionsRejected,
    evicted: stats.errors.IdleEvicted,
    idleStillOpen: idle.filter((r) => r.closedAt === undefined).length
  })
  expect(servedAfterMs).toBeGreaterThanOrEqual(0) // served at all (never, before the fix)
  expect(servedAfterMs).toBeLessThan(EVICT_IDLE_AFTER_MS + 5000)
  expect(stats.errors.IdleEvicted).toBeGreaterThanOrEqual(1)
  // Only as many idle connections as were needed made room; the rest keep their slots.
  expect(idle.filter((r) => r.closedAt === undefined).length).toBe(MAX_CONNECTIONS - stats.errors.IdleEvicted!)
  expect(await receiver.terminate()).toBe(0)
}, 40_000)
