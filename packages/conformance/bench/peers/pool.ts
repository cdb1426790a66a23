/**
 * A bounded pool of pre-encoded batches for the benchmark peers.
 *
 * Pre-encoding the whole workload (`[...Workload.batches(args)]`) makes a 2-second cell at
 * ~1 GB/s hold gigabytes before the first byte is sent, and the peer's peak RSS then measures
 * the workload, not the transport. The pool holds the workload's first batches up to
 * {@link POOL_BYTES} and the peers cycle through it: batch `i` is `pool[i % pool.length]`.
 * Transactions repeat across cycles, which is fine: baselines never compute the digest.
 */
import { Envelope } from "@txlane/protocol"
import { Workload } from "@txlane/protocol/testing"

/** Upper bound of a pool's payload bytes (at least one batch is always pooled). */
export const POOL_BYTES = 16 * 1024 * 1024

interface PoolArgs {
  readonly seed: bigint
  readonly batches: number
  readonly txPerBatch: number
  readonly txSize: number
}

/** The workload's first batches, up to {@link POOL_BYTES} of transactions, one at a time. */
function* firstBatches(args: PoolArgs): Generator<Array<Uint8Array>> {
  let bytes = 0
  for (const batch of Workload.batches({ ...args, batches: Math.max(1, args.batches) })) {
    yield batch
    for (const tx of batch) bytes += tx.length
    if (bytes >= POOL_BYTES) return
  }
}

/**
 * The first batches of the workload, as `Transactions` payloads, up to {@link POOL_BYTES}. Each
 * batch is encoded as it is generated: building the transaction lists first kept both pools alive
 * at once and added ~15 MB to the sender's peak RSS, which the benchmark charges to the transport.
 */
export const payloadPool = (args: PoolArgs): Array<Uint8Array> =>
  Array.from(firstBatches(args), (batch) => Envelope.encode(batch))

/**
 * The first batches of the workload as lists of encoded `Transaction`s (not yet enveloped), up
 * to {@link POOL_BYTES}: for `send(transactions)`, which encodes the envelope on every call.
 */
export const transactionPool = (args: PoolArgs): Array<Array<Uint8Array>> => Array.from(firstBatches(args))
