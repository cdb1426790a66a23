/**
 * The receiver's one timer: every tick it reads Effect's `Clock`, publishes it as a coarse "now"
 * ({@link CoarseClock}) and checks every connection's timeouts (`Connection.sweep`).
 *
 * Connections stamp their events (a frame's first byte, the last activity, a pause) with the
 * coarse now instead of calling `Date.now()` per read: one clock read per tick rather than per
 * event, and time that tests control with `TestClock` (no real sleeps). The cost is precision:
 * stamps lag their events by up to the time between two ticks, so `Connection.sweep` takes that
 * much (at least one tick) off every elapsed time: no timeout fires early, and one fires up to two
 * ticks late — a tick is a quarter of the shortest timeout, so that is at most half of it, capped
 * at 2 s (more only when the event loop itself was held up).
 *
 * @module
 */
import { Clock, Effect } from "effect"
import type { Connection } from "./connection.js"
import type { Settings } from "./core.js"

/** The time of the last tick, in epoch milliseconds of Effect's `Clock`. */
export interface CoarseClock {
  millis: number
}

/** A coarse clock set to the current time. */
export const makeClock: Effect.Effect<CoarseClock> = Effect.map(Clock.currentTimeMillis, (millis) => ({ millis }))

/** How often timeouts are checked, from the shortest timeout: a quarter of it, 5 ms to 1 s. */
export const intervalMs = (settings: Settings): number =>
  Math.max(
    5,
    Math.min(1000, Math.floor(Math.min(settings.frameTimeoutMs, settings.idleTimeoutMs, settings.lingerMs || 1000) / 4))
  )

/** Ticks forever (fork it in the receiver's scope): publishes the time, then sweeps. */
export const run = (
  clock: CoarseClock,
  connections: Iterable<Connection>,
  settings: Settings
): Effect.Effect<never> => {
  const interval = intervalMs(settings)
  return Effect.forever(
    Effect.gen(function* () {
      yield* Effect.sleep(interval)
      const now = yield* Clock.currentTimeMillis
      // Stamps lag their events by up to the time since the previous tick: normally `interval`,
      // more when the event loop was held up.
      const slack = Math.max(interval, now - clock.millis)
      clock.millis = now
      for (const conn of connections) conn.sweep(now, slack)
    })
  )
}
