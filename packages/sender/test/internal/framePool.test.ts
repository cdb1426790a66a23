import { describe, expect, it } from "vitest"
import { allocateFrame, MAX_POOLED_FRAME, releaseFrame, SLAB_BYTES } from "../../src/internal/framePool.js"

describe("frame pool", () => {
  it("carves frames out of one slab, without overlap, until it is full", () => {
    const a = allocateFrame(1000)
    const b = allocateFrame(2000)
    expect(b.buffer).toBe(a.buffer)
    expect(b.byteOffset).toBeGreaterThanOrEqual(a.byteOffset + a.length)
    expect(b.byteOffset % 8).toBe(0)
    a.fill(1)
    b.fill(2)
    expect(a.every((x) => x === 1)).toBe(true)
    releaseFrame(a)
    releaseFrame(b)
  })

  it("reuses a full slab only once every frame of it is released", () => {
    // Four frames of 250,000 bytes fill a slab; the next one needs another slab.
    const fill = () => Array.from({ length: 4 }, () => allocateFrame(250_000))
    const s = fill()
    expect(new Set(s.map((f) => f.buffer)).size).toBe(1)
    const t = fill()
    expect(new Set(t.map((f) => f.buffer)).size).toBe(1)
    expect(t[0]!.buffer).not.toBe(s[0]!.buffer)
    // One frame of s still live: the next slab is a new one.
    for (const f of s.slice(1)) releaseFrame(f)
    const u = fill()
    expect(u[0]!.buffer).not.toBe(s[0]!.buffer)
    // s's last frame released: its slab comes back.
    releaseFrame(s[0]!)
    const v = fill()
    expect(v[0]!.buffer).toBe(s[0]!.buffer)
    expect(4 * 250_000).toBeLessThanOrEqual(SLAB_BYTES)
    for (const f of [...t, ...u, ...v]) releaseFrame(f)
  })

  it("large frames get a buffer of their own, and releasing them is harmless", () => {
    const big = allocateFrame(MAX_POOLED_FRAME + 1)
    expect(big.byteLength).toBe(MAX_POOLED_FRAME + 1)
    expect(big.buffer.byteLength).toBeGreaterThanOrEqual(MAX_POOLED_FRAME + 1)
    releaseFrame(big)
  })
})
