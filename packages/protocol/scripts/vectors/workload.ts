/**
 * `workload.json`: the deterministic workload and the transaction digest of
 * packages/conformance/PEERS.md. Unlike the other files this one is reference output, computed by
 * the generator it pins, so that other implementations can check theirs against it.
 *
 * @module
 */
import { createHash } from "node:crypto"
import { Digest, Workload } from "../../src/testing.js"
import { ascii, hex, type VectorFile } from "./bytes.js"

const sha8 = (h: string): bigint =>
  BigInt(`0x${createHash("sha256").update(Buffer.from(h, "hex")).digest("hex").slice(0, 16)}`)
const digestOf = (txs: Array<string>): string =>
  (txs.reduce((acc, t) => (acc + sha8(t)) % 2n ** 64n, 0n) as bigint).toString(16).padStart(16, "0")

const prng = (seed: bigint, n: number) => {
  const rng = new Workload.SplitMix64(seed)
  return {
    type: "prng",
    name: `splitmix64-seed-${seed}`,
    seed: seed.toString(),
    outputs: Array.from({ length: n }, () => rng.next().toString(16).padStart(16, "0"))
  }
}
const transaction = (seed: bigint, txSize: number, index: number) => {
  const g = new Workload.TransactionGenerator({ seed, txSize })
  let t = g.next()
  for (let i = 0; i < index; i++) t = g.next()
  return {
    type: "transaction",
    name: `tx-seed-${seed}-size-${txSize}-index-${index}`,
    seed: seed.toString(),
    txSize,
    index,
    length: t.length,
    transaction: hex(t)
  }
}
const workloadDigest = (seed: bigint, batches: number, txPerBatch: number, txSize: number) => {
  const d = Digest.make()
  for (const batch of Workload.batches({ seed, batches, txPerBatch, txSize })) d.addAll(batch)
  return {
    type: "workload-digest",
    name: `workload-seed-${seed}-${batches}x${txPerBatch}x${txSize}`,
    seed: seed.toString(),
    batches,
    txPerBatch,
    txSize,
    transactions: d.count,
    digest: d.value
  }
}
const digest = (name: string, transactions: Array<string>) => ({
  type: "digest",
  name,
  transactions,
  digest: digestOf(transactions)
})

export const workload: VectorFile = {
  file: "workload.json",
  kind: "workload",
  description:
    "The deterministic workload and the transaction digest of packages/conformance/PEERS.md. Reference output, pinned.",
  vectors: [
    prng(0n, 5),
    prng(1n, 5),
    prng(0xffff_ffff_ffff_ffffn, 3),
    digest("digest-empty-set", []),
    digest("digest-abc", [ascii("abc")]),
    digest("digest-order-independent-1", [ascii("abc"), "", "00"]),
    digest("digest-order-independent-2", ["00", ascii("abc"), ""]),
    digest("digest-duplicates-count", [ascii("abc"), ascii("abc")]),
    transaction(1n, 650, 0),
    transaction(1n, 650, 1),
    transaction(42n, 200, 0),
    transaction(7n, 100, 3),
    transaction(7n, 327, 0),
    transaction(7n, 330, 0),
    transaction(0xffff_ffff_ffff_ffffn, 1000, 2),
    workloadDigest(1n, 10, 50, 650),
    workloadDigest(2n, 3, 1, 200),
    workloadDigest(3n, 0, 50, 650),
    workloadDigest(9n, 4, 7, 4000)
  ]
}
