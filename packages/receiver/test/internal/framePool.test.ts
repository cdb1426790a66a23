import { describe, expect, it } from "vitest"
import { FramePool, MAX_FREE_BYTES, MIN_POOLED_BYTES } from "../../src/internal/framePool.js"

describe("FramePool", () => {
  it("hands a released buffer to the next frame of its size class", () => {
    const pool = new FramePool()
    const first = pool.take(MIN_POOLED_BYTES + 1)
    expect(first.byteLength).toBe(MIN_POOLED_BYTES + 1)
    pool.release(first)
    const second = pool.take(MIN_POOLED_BYTES * 2)
    expect(second.buffer).toBe(first.buffer)
    expect(second.byteLength).toBe(MIN_POOLED_BYTES * 2)
  })

  it("charges a pooled frame its whole buffer, any other frame its length", () => {
    const pool = new FramePool()
    expect(pool.heldBytes(pool.take(MIN_POOLED_BYTES + 1))).toBe(MIN_POOLED_BYTES * 2)
    expect(pool.heldBytes(pool.take(1000))).toBe(1000)
    expect(pool.heldBytes(new Uint8Array(new ArrayBuffer(MIN_POOLED_BYTES * 4), 0, MIN_POOLED_BYTES))).toBe(
      MIN_POOLED_BYTES
    )
  })

  it("does not reuse a buffer that was not released", () => {
    const pool = new FramePool()
    const first = pool.take(MIN_POOLED_BYTES)
    expect(pool.take(MIN_POOLED_BYTES).buffer).not.toBe(first.buffer)
  })

  it("leaves small frames and buffers it did not hand out alone", () => {
    const pool = new FramePool()
    const small = pool.take(1024)
    pool.release(small)
    expect(pool.take(1024).buffer).not.toBe(small.buffer)
    const foreign = new Uint8Array(MIN_POOLED_BYTES)
    pool.release(foreign)
    expect(pool.take(MIN_POOLED_BYTES).buffer).not.toBe(foreign.buffer)
  })

  it("keeps at most MAX_FREE_BYTES of free buffers", () => {
    const pool = new FramePool()
    const size = 4 * 1024 * 1024
    const count = MAX_FREE_BYTES / size + 2
    const taken = Array.from({ length: count }, () => pool.take(size))
    for (const frame of taken) pool.release(frame)
    const kept = new Set(taken.slice(0, MAX_FREE_BYTES / size).map((f) => f.buffer))
    const again = Array.from({ length: count }, () => pool.take(size).buffer)
    expect(again.filter((b) => kept.has(b as ArrayBuffer))).toHaveLength(MAX_FREE_BYTES / size)
    expect(again.filter((b) => !taken.some((f) => f.buffer === b))).toHaveLength(2)
  })
})
