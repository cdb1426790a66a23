/**
 * The sender's time goes through Effect's `Clock` (issue #16): ack timeouts, the close deadline
 * and the reconnect delays are driven here by `TestClock.adjust`, over real sockets. No test
 * sleeps, and none reads the wall clock: each waits for an event (a frame at the server, a fiber
 * that ends) and moves the test clock.
 */
import { assert, describe, it } from "@effect/vitest"
import { Workload } from "@txlane/protocol/testing"
import { type Duration, Effect, Exit, Fiber, Result, Scope } from "effect"
import { TestClock } from "effect/testing"
import { AckTimeout, QueueFull, Sender, SenderClosed } from "../src/index.js"
import { socketPath, startServer, type TestServer } from "./server.js"

const withServer = (options: Parameters<typeof startServer>[0] = {}) =>
  Effect.acquireRelease(
    Effect.promise(() => startServer(options)),
    (s: TestServer) => Effect.promise(() => s.close())
  )

const batches = (n: number) => [...Workload.batches({ batches: n, txPerBatch: 5, txSize: 100 })]

/** Resolves once the server has read `n` frames (an event, not a poll). */
const frames = (server: TestServer, n: number) => Effect.promise(() => server.waitFrames(n))

/** Lets every fiber that is ready run until it suspends (bounded). */
const settle = Effect.gen(function* () {
  for (let i = 0; i < 20; i++) yield* Effect.yieldNow
})

/** Moves the test clock in `step`s until `fiber` ends (at most `max` steps). */
const advanceUntilDone = <A, E>(fiber: Fiber.Fiber<A, E>, step: Duration.Input, max = 100) =>
  Effect.gen(function* () {
    for (let i = 0; i < max && fiber.pollUnsafe() === undefined; i++) {
      yield* settle
      yield* TestClock.adjust(step)
    }
    return yield* Fiber.join(fiber)
  })

/** Closes with a 100 ms deadline, moving the test clock past it (the scope's close would wait on it forever). */
const closeOnTestClock = (sender: Sender.Sender["Service"]) =>
  Effect.forkChild(sender.close({ timeout: "100 millis" })).pipe(
    Effect.flatMap((close) => advanceUntilDone(close, "50 millis"))
  )

describe("ack timeout (TestClock)", () => {
  it.effect("no retries left: the send fails with AckTimeout { timeoutMs } once the clock passes it", () =>
    Effect.gen(function* () {
      const server = yield* withServer({ respond: "none" })
      const sender = yield* Sender.make({
        endpoint: server.path,
        workers: 1,
        delivery: "acknowledged",
        ackTimeout: "200 millis",
        retries: 0
      })
      const send = yield* Effect.forkChild(Effect.flip(sender.send(batches(1)[0]!)))
      yield* frames(server, 1)
      yield* settle
      yield* TestClock.adjust("199 millis")
      yield* settle
      assert.isUndefined(send.pollUnsafe(), "not failed before the timeout")
      yield* TestClock.adjust("1 millis")
      const error = yield* Fiber.join(send)
      assert.instanceOf(error, AckTimeout)
      assert.strictEqual((error as AckTimeout).timeoutMs, 200)
      assert.strictEqual((yield* sender.stats).failed, 1)
    })
  )

  it.effect("within the retry budget: resent on a new connection and acknowledged", () =>
    Effect.gen(function* () {
      const server = yield* withServer({ ignoreFirstConnections: 1 })
      const sender = yield* Sender.make({
        endpoint: server.path,
        workers: 1,
        delivery: "acknowledged",
        ackTimeout: "150 millis",
        retries: 2
      })
      const batch = batches(1)[0]!
      const send = yield* Effect.forkChild(sender.send(batch))
      yield* frames(server, 1)
      yield* settle
      yield* TestClock.adjust("150 millis")
      assert.strictEqual(yield* Fiber.join(send), batch.length)
      const stats = yield* sender.stats
      assert.strictEqual(stats.retries, 1)
      assert.strictEqual(stats.reconnects, 1)
      assert.strictEqual(server.frames, 2) // the peer saw it twice: at-least-once
    })
  )
})

describe("close deadline (TestClock)", () => {
  it.effect("fire-and-forget, no receiver: the report lists every batch once the deadline passes", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const sender = yield* Sender.make({ endpoint: socketPath(), workers: 2, maxBatchesPerWrite: 3 }).pipe(
        Scope.provide(scope)
      )
      const work = batches(20)
      for (const b of work) yield* sender.send(b)
      yield* settle // both workers take one batch each and fail to connect
      const close = yield* Effect.forkChild(sender.close({ timeout: "100 millis" }))
      const report = yield* advanceUntilDone(close, "25 millis")
      assert.isTrue(report.timedOut)
      assert.isAtLeast(report.durationMs, 100)
      assert.strictEqual(report.delivered, 0)
      const states = report.undelivered.map((u) => u.state)
      assert.strictEqual(states.length, 20)
      // 2 workers × 1 taken: a worker that is not connected holds one batch, the rest stay queued
      assert.strictEqual(states.filter((x) => x === "unsent").length, 2)
      assert.strictEqual(states.filter((x) => x === "queued").length, 18)
      yield* Scope.close(scope, Exit.void)
    })
  )

  it.effect("acknowledged: unanswered batches are reported and their sends fail with SenderClosed", () =>
    Effect.gen(function* () {
      const server = yield* withServer({ respond: "hold", holdAfter: 1 })
      const sender = yield* Sender.make({ endpoint: server.path, workers: 1, delivery: "acknowledged" })
      const sends = yield* Effect.forEach(batches(6), (b) => Effect.forkChild(Effect.result(sender.send(b))))
      yield* frames(server, 6)
      const close = yield* Effect.forkChild(sender.close({ timeout: "100 millis" }))
      const report = yield* advanceUntilDone(close, "25 millis")
      assert.deepStrictEqual(
        report.undelivered.map((u) => u.state),
        Array(5).fill("unacknowledged")
      )
      const [first, ...rest] = yield* Fiber.joinAll(sends)
      assert.isTrue(Result.isSuccess(first!) && first.success === 5)
      for (const r of rest) assert.instanceOf(Result.isFailure(r) ? r.failure : undefined, SenderClosed)
    })
  )
})

describe("overflow policies (TestClock; capacity 4, one worker holding one batch, no receiver yet)", () => {
  // One worker with maxBatchesPerWrite 1 takes the first batch and waits (on the test clock)
  // to reconnect; then exactly 4 more fit in the queue.
  const options = (path: string) => ({ endpoint: path, workers: 1, queueCapacity: 4, maxBatchesPerWrite: 1 }) as const
  const fill = (sender: Sender.Sender["Service"], work: ReadonlyArray<ReadonlyArray<Uint8Array>>) =>
    Effect.gen(function* () {
      yield* sender.send(work[0]!)
      yield* settle
      assert.strictEqual((yield* sender.stats).inFlight, 1)
      for (let i = 1; i <= 4; i++) yield* sender.send(work[i]!)
      assert.strictEqual((yield* sender.stats).queued, 4)
    })

  it.effect('"suspend": send waits for room, then everything is delivered', () =>
    Effect.gen(function* () {
      const path = socketPath()
      const work = batches(6)
      const sender = yield* Sender.make({ ...options(path), overflow: "suspend" })
      yield* fill(sender, work)
      const sixth = yield* Effect.forkChild(sender.send(work[5]!))
      yield* settle
      assert.isUndefined(sixth.pollUnsafe(), "suspended while the queue is full")
      const server = yield* withServer({ path })
      // The worker's next reconnect attempt is due on the test clock.
      yield* advanceUntilDone(sixth, "50 millis")
      const report = yield* sender.close({ timeout: "5 seconds" })
      assert.strictEqual(report.delivered, 6)
      assert.strictEqual(server.frames, 6)
    })
  )

  it.effect('"fail": send fails with QueueFull { capacity } at once', () =>
    Effect.gen(function* () {
      const work = batches(6)
      const sender = yield* Sender.make({ ...options(socketPath()), overflow: "fail" })
      yield* fill(sender, work)
      const error = yield* Effect.flip(sender.send(work[5]!))
      assert.instanceOf(error, QueueFull)
      assert.strictEqual((error as QueueFull).capacity, 4)
      assert.strictEqual((yield* sender.stats).queueFull, 1)
      const report = yield* closeOnTestClock(sender)
      assert.strictEqual(report.accepted, 5)
    })
  )

  it.effect('"drop": the batch is dropped, counted and reported', () =>
    Effect.gen(function* () {
      const work = batches(7)
      const sender = yield* Sender.make({ ...options(socketPath()), overflow: "drop" })
      yield* fill(sender, work)
      assert.isUndefined(yield* sender.send(work[5]!))
      assert.isUndefined(yield* sender.send(work[6]!))
      assert.strictEqual((yield* sender.stats).dropped, 2)
      const report = yield* closeOnTestClock(sender)
      assert.strictEqual(report.dropped, 2)
      assert.strictEqual(report.undelivered.length, 5)
    })
  )

  it.effect('"drop" in acknowledged mode fails with QueueFull (there is no acknowledgement to wait for)', () =>
    Effect.gen(function* () {
      const path = socketPath()
      const work = batches(6)
      const sender = yield* Sender.make({ ...options(path), overflow: "drop", delivery: "acknowledged" })
      const sends = yield* Effect.forEach(work.slice(0, 5), (b) =>
        Effect.forkChild(sender.send(b)).pipe(Effect.tap(settle))
      )
      assert.strictEqual((yield* sender.stats).queued, 4)
      const error = yield* Effect.flip(sender.send(work[5]!))
      assert.instanceOf(error, QueueFull)
      assert.strictEqual((yield* sender.stats).dropped, 1)
      yield* withServer({ path })
      const all = Fiber.joinAll(sends)
      const counts = yield* advanceUntilDone(yield* Effect.forkChild(all), "50 millis")
      assert.deepStrictEqual(counts, [5, 5, 5, 5, 5])
    })
  )
})
