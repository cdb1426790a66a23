/**
 * Hostile bytes (issue 7), against a receiver in its own process:
 * - a header announcing 4 GiB − 1, followed by 256 MiB sent as fast as the socket takes it:
 *   answered and closed at once, nothing after the header is buffered (RSS stays flat);
 * - 100 connections of seeded garbage (random bytes, valid framing around random payloads,
 *   truncated streams, aborts), while a well-behaved connection keeps working: nothing
 *   crashes, every connection is accounted for, memory and file descriptors come back.
 */
import type * as Net from "node:net"
import { Workload } from "@txlane/protocol/testing"
import { afterAll, afterEach, describe, expect, it } from "vitest"
import { Client, cleanupTempDirs, header, tempSocketPath, waitFor } from "../helpers.js"
import { destroyAll, figure, healthyLoop, openMany } from "./net.js"
import { killAll, spawnReceiver } from "./process.js"

afterEach(() => {
  destroyAll()
  killAll()
})
afterAll(cleanupTempDirs)

const FOUR_GIB = 0xffff_ffff
const FOLLOW = 256 * 1024 * 1024

/** Writes `total` bytes after a 4 GiB header, as fast as the socket drains; resolves when closed. */
const fourGibAttack = (socket: Net.Socket) =>
  new Promise<{ written: number; closedMs: number }>((resolve) => {
    const chunk = Buffer.alloc(1024 * 1024, 0xee)
    const t0 = Date.now()
    let written = 0
    let closed = false
    socket.on("error", () => {})
    socket.once("close", () => {
      closed = true
      resolve({ written, closedMs: Date.now() - t0 })
    })
    socket.write(header(FOUR_GIB))
    const pump = () => {
      while (!closed && written < FOLLOW) {
        written += chunk.length
        if (!socket.write(chunk)) return void socket.once("drain", pump)
      }
      if (!closed) socket.end()
    }
    pump()
  })

describe("a header announcing 4 GiB − 1", () => {
  for (const respond of ["json", "none"] as const) {
    it(`respond ${respond}: ${respond === "json" ? "error response, " : ""}counted and closed at once; the 256 MiB after it is never buffered`, async () => {
      const receiver = await spawnReceiver({ listen: tempSocketPath(), respond })
      const before = receiver.rss()
      const client = await Client.connect(receiver.address)
      const { written, closedMs } = await fourGibAttack(client.socket)
      const stats = await receiver.stats()
      const grown = receiver.rss() - before
      figure(`4gib-header-${respond}`, {
        followBytes: FOLLOW,
        writtenBeforeClose: written,
        closedMs,
        rssGrowth: grown,
        bytesReceived: stats.bytesReceived
      })
      expect(client.responses).toEqual(
        respond === "json" ? [{ success: false, error: "Transaction too large: 4294967295 bytes (max: 10485760)" }] : []
      )
      expect(stats.errors.FrameTooLarge).toBe(1)
      expect(stats.framesReceived).toBe(0)
      expect(stats.bufferedBytes).toBe(0)
      // Closed after at most lingerMs (1 s) of read-and-drop, well before 256 MiB could be sent.
      expect(closedMs).toBeLessThan(1000 + 3000)
      expect(grown).toBeLessThan(32 * 1024 * 1024)
      await waitFor(async () => (await receiver.stats()).connectionsOpen === 0, 5000, "closed", 50)
      expect(await receiver.terminate()).toBe(0)
    }, 30_000)
  }
})

describe("garbage", () => {
  it("100 connections of seeded garbage: no crash, every connection accounted for, memory and fds come back", async () => {
    const CONNECTIONS = 100
    const receiver = await spawnReceiver({
      listen: tempSocketPath(),
      frameTimeoutMs: 1000,
      lingerMs: 100,
      maxFrameBytes: 64 * 1024
    })
    const baseline = await receiver.stats()
    const healthy = await healthyLoop(receiver.address)
    const rng = new Workload.SplitMix64(20261127n)
    const rand = (n: number) => rng.nextMod(n)
    const bytes = (n: number) => Buffer.from(rng.bytes(n))
    const conns = await openMany(receiver.address, CONNECTIONS)
    let sent = 0
    const kinds = { random: 0, framedGarbage: 0, truncated: 0, aborted: 0 }
    for (const [i, c] of conns.entries()) {
      const parts: Array<Buffer> = []
      switch (i % 4) {
        case 0: // random bytes: almost always an oversize header at once
          kinds.random++
          parts.push(bytes(1 + rand(64 * 1024)))
          break
        case 1: // valid framing, random payloads (malformed envelopes), then random bytes
          kinds.framedGarbage++
          for (let f = 0; f < 1 + rand(50); f++) {
            const p = bytes(rand(2000))
            parts.push(header(p.length), p)
          }
          parts.push(bytes(rand(100)))
          break
        case 2: // a header and part of its payload, then EOF
          kinds.truncated++
          parts.push(header(1000 + rand(60_000)), bytes(rand(1000)))
          break
        default: // garbage frames, then the connection is aborted mid-frame
          kinds.aborted++
          parts.push(header(5000), bytes(rand(5000)))
      }
      const stream = Buffer.concat(parts)
      sent += stream.length
      // Random chunking.
      for (let at = 0; at < stream.length; ) {
        const n = 1 + rand(8192)
        c.socket.write(stream.subarray(at, at + n))
        at += n
      }
      if (i % 4 === 3) setTimeout(() => c.socket.destroy(), rand(50))
      else c.socket.end()
      c.socket.on("error", () => {})
    }
    await waitFor(async () => (await receiver.stats()).connectionsOpen === 1, 15_000, "garbage connections closed", 50)
    const rt = await healthy.stop()
    await waitFor(
      async () => {
        const s = await receiver.stats()
        return s.connectionsOpen === 0 && s.bufferedBytes === 0 && s.queuedFrames === 0
      },
      5000,
      "idle",
      50
    )
    const stats = await receiver.stats()
    figure("garbage", {
      connections: CONNECTIONS,
      bytes: sent,
      kinds,
      errors: stats.errors,
      healthyFrames: rt.frames,
      healthyFailures: rt.failures,
      fdsBefore: baseline.fds,
      fdsAfter: stats.fds
    })
    expect(rt.failures).toBe(0)
    expect(rt.frames).toBeGreaterThan(0)
    expect(stats.connectionsTotal).toBe(CONNECTIONS + 1)
    expect(stats.errors.FrameTooLarge).toBeGreaterThan(0)
    expect(stats.errors.MalformedEnvelope).toBeGreaterThan(0)
    expect(stats.errors.TruncatedFrame).toBeGreaterThan(0)
    // Every garbage frame that decoded was a malformed envelope, an empty frame, or (rarely) valid.
    expect(stats.framesSubmitted).toBe(
      rt.frames +
        (stats.framesReceived - rt.frames - (stats.errors.MalformedEnvelope ?? 0) - (stats.errors.EmptyFrame ?? 0))
    )
    expect(stats.fds).toBe(baseline.fds)
    expect(await receiver.terminate()).toBe(0)
  }, 60_000)
})
