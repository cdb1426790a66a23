/**
 * How a batch ends: delivered, rejected or failed. Each settles a batch once: counts it, ends its
 * span, completes its `send` (acknowledged mode), reports it to `onOutcome` and gives its pooled
 * frame back. Answers, transient retries and reconnects all end batches; one module keeps them
 * ending the same way, so the counters add up and every batch is reported exactly once.
 *
 * @module
 */
import { Exit } from "effect"
import { type AckTimeout, Rejected, type RetriesExhausted } from "../errors.js"
import type { Outcome } from "../Options.js"
import { type AckError, type Batch, complete as completeDone } from "./batch.js"
import { releaseFrame } from "./framePool.js"
import { endSpan } from "./span.js"
import type { Shared } from "./workerState.js"

const complete = (shared: Shared, batch: Batch, exit: Exit.Exit<number, AckError>): void => {
  // The span first: completing the batch may resume the sender's caller synchronously.
  if (batch.span !== undefined) endSpan(batch.span, shared.clock, exit)
  if (batch.done !== undefined) completeDone(batch.done, exit)
}

/**
 * Reports the outcome, then gives the batch's pooled frame back: nothing reads a settled batch's
 * bytes again. With an `onOutcome` callback the frame is kept (left to the garbage collector),
 * since the callback may hold on to `payload`.
 */
const tell = (shared: Shared, batch: Batch, status: Outcome["status"], error?: string): void => {
  const onOutcome = shared.options.onOutcome
  if (onOutcome !== undefined) onOutcome({ payload: batch.payload, transactions: batch.transactions, status, error })
  else if (batch.frame !== undefined) releaseFrame(batch.frame)
}

/** The peer accepted the batch (or, untracked, the kernel took it). */
export const settleDelivered = (shared: Shared, batch: Batch, count?: number): void => {
  shared.counters.delivered++
  complete(shared, batch, Exit.succeed(count ?? batch.transactions))
  tell(shared, batch, "delivered")
}

/** The peer's final verdict was no. */
export const settleRejected = (shared: Shared, batch: Batch, error: string): void => {
  shared.counters.rejected++
  shared.warn("rejected", `${shared.options.name}: peer rejected a batch: ${error}`)
  complete(shared, batch, Exit.fail(new Rejected({ error })))
  tell(shared, batch, "rejected", error)
}

/** The sender gave up on the batch. */
export const settleFailed = (shared: Shared, batch: Batch, error: AckTimeout | RetriesExhausted): void => {
  shared.counters.failed++
  complete(shared, batch, Exit.fail(error))
  tell(shared, batch, "failed", error.message)
}
