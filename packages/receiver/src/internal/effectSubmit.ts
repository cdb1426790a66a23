/**
 * An Effect `submit` run by the fiber-less handlers (`directHandlers.ts`) when frames get no
 * spans: each frame's effect runs on a fiber of its own, started synchronously in the handler's
 * callback. One that completes without suspending (a synchronous `submit`, the CLI's without a
 * capture file) is answered at once; one that suspends settles through its fiber's observer.
 *
 * Why: a handler fiber waiting on the ready queue is resumed through Effect's scheduler for every
 * frame it takes, then suspends again on an async `submit`; a fiber per frame starts in the
 * callback that produced the frame and suspends only where the `submit` itself does. Against the
 * handler fibers, by hand (bench/PROFILE.md, "2026-12-02, 00:10–"): async `submit` at 10k/s, p99
 * 3.2–5.0 against 4.8–7.1 ms; a synchronous one at saturation, 36.9k–43.6k against 26.3k–30.7k
 * acknowledged batches/s.
 *
 * The fibers run with the receiver's context (its services, log level, references) as the
 * handler fibers did, and are interrupted at the close deadline, as the handler fibers were.
 *
 * @module
 */
import { type Cause, type Context, Effect, Exit, Fiber } from "effect"
import type { Options, SubmitResult } from "../Options.js"
import type { DirectSubmit } from "./directHandlers.js"

// biome-ignore lint/suspicious/noConfusingVoidType: mirrors the submit option's result type
type Result = SubmitResult | undefined | void

/** The submits of one receiver: the function its handlers call, and what its close deadline ends. */
export interface EffectSubmits {
  readonly submit: DirectSubmit
  /** Interrupts every `submit` still running and waits for them to end (the close deadline). */
  readonly interruptAll: Effect.Effect<void>
}

export const make = <E>(submit: Options<E>["submit"], context: Context.Context<never>): EffectSubmits => {
  const run = Effect.runForkWith(context)
  const running = new Set<Fiber.Fiber<Result, E>>()
  return {
    submit: (batch) => {
      const fiber: Fiber.Fiber<Result, E> = run(Effect.suspend(() => submit(batch)))
      // `runForkWith` runs the effect until it completes or first suspends, so a synchronous
      // submit's exit is here already. The fiber's own hooks (`pollUnsafe`, `addObserver`) are
      // used rather than `Fiber.await`, which would need an effect, and so a fiber, to wait.
      const exit = fiber.pollUnsafe()
      if (exit !== undefined) {
        if (Exit.isSuccess(exit)) return exit.value
        throw exit.cause
      }
      running.add(fiber)
      return {
        // biome-ignore lint/suspicious/noThenProperty: a thenable on purpose, settled as a Promise `submit` is (never awaited)
        then: (onSuccess: (value: Result) => void, onFailure: (cause: Cause.Cause<E>) => void) => {
          fiber.addObserver((settled) => {
            running.delete(fiber)
            if (Exit.isSuccess(settled)) onSuccess(settled.value)
            else onFailure(settled.cause)
          })
        }
      }
    },
    interruptAll: Effect.suspend(() => Fiber.interruptAll([...running]))
  }
}
