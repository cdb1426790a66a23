import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { Envelope } from "../src/index.js"
import { Digest, Workload } from "../src/testing.js"

describe("Workload", () => {
  it.each([197, 200, 201, 300, 650, 4096])("hits the target size %i exactly", (size) => {
    for (const tx of new Workload.TransactionGenerator({ seed: 5, txSize: size }).take(20)) expect(tx.length).toBe(size)
  })

  it.each([1, 197, 200, 327, 650, 4096, 70_000])(
    "the fast generator matches the BinaryWriter definition at size %i",
    (size) => {
      const fast = new Workload.TransactionGenerator({ seed: 11n, txSize: size })
      const slow = new Workload.TransactionGenerator({ seed: 11n, txSize: size })
      for (let i = 0; i < 25; i++) expect(fast.next()).toEqual(slow.nextSlow())
    }
  )

  it("never goes below the fixed fields", () => {
    expect(new Workload.TransactionGenerator({ txSize: 1 }).next().length).toBe(Workload.BASE_TRANSACTION_BYTES)
  })

  it("is deterministic per seed and differs across seeds", () => {
    const a = Digest.of(new Workload.TransactionGenerator({ seed: 1 }).take(10))
    expect(Digest.of(new Workload.TransactionGenerator({ seed: 1 }).take(10))).toBe(a)
    expect(Digest.of(new Workload.TransactionGenerator({ seed: 2 }).take(10))).not.toBe(a)
  })

  it("batches are the transaction stream cut into K, and survive the envelope", () => {
    const batches = [...Workload.batches({ seed: 3, batches: 4, txPerBatch: 5, txSize: 300 })]
    expect(batches.flat()).toEqual(new Workload.TransactionGenerator({ seed: 3, txSize: 300 }).take(20))
    for (const b of batches) expect(Result.getOrThrow(Envelope.decode(Envelope.encode(b)))).toEqual(b)
  })

  it("nextMod is exact for both halves", () => {
    const rng = new Workload.SplitMix64(0n)
    const check = new Workload.SplitMix64(0n)
    for (let i = 0; i < 50; i++) expect(BigInt(rng.nextMod(999_983))).toBe(check.next() % 999_983n)
  })
})

describe("Digest", () => {
  it("is order independent and counts duplicates", () => {
    const [a, b] = [Uint8Array.of(1), Uint8Array.of(2)]
    expect(Digest.of([a, b])).toBe(Digest.of([b, a]))
    expect(Digest.of([a, a])).not.toBe(Digest.of([a]))
    expect(Digest.of([])).toBe("0000000000000000")
  })

  it("merges like a multiset sum", () => {
    const txs = new Workload.TransactionGenerator().take(30)
    const left = Digest.make()
    const right = Digest.make()
    left.addAll(txs.slice(0, 13))
    right.addAll(txs.slice(13))
    left.merge(right)
    expect([left.value, left.count]).toEqual([Digest.of(txs), 30])
  })
})
