/**
 * How a conformance case ends (STYLE.md item 11, after protobuf-conformance): every case ends in
 * exactly one tagged outcome, and the outcome is then judged against the committed list of
 * expected failures.
 *
 * - `ok`: every check passed.
 * - `mismatch`: the run completed but the evidence (digests, counts, responses) disagrees with
 *   what the harness computed itself.
 * - `decodeError`: a peer printed a line that is not PEERS.md JSON, or wrote bytes the harness
 *   could not decode (a response, a `--record` file).
 * - `transportError`: a peer crashed, exited with the wrong code, or a connection failed.
 * - `timeout`: the case did not finish within its time bound.
 * - `skipped`: the case could not run (a reference peer that is not available here, a scenario
 *   the peer kind cannot do). A skip never fails the run, except when the missing peer is
 *   required (`--require rust,go`).
 *
 * @module
 */
import { Data } from "effect"

/** A case outcome. `detail` says, in a line, what was seen. */
export type Outcome = Data.TaggedEnum<{
  ok: { readonly detail: string }
  mismatch: { readonly detail: string }
  decodeError: { readonly detail: string }
  transportError: { readonly detail: string }
  timeout: { readonly detail: string }
  /**
   * `toolchain`: a reference peer is not available here (not prebuilt for this platform, not
   * built, and maybe no `cargo`/`go` to build it); `impl` names it. Such a skip fails the run
   * only when that implementation is required (`--require`).
   */
  skipped: { readonly detail: string; readonly toolchain: boolean; readonly impl?: string | undefined }
}>

/** Constructors of {@link Outcome}. */
export const Outcome = Data.taggedEnum<Outcome>()

/** The failing tags, as a case's typed error while it runs. */
export type FailureTag = "mismatch" | "decodeError" | "transportError" | "timeout"

/** A failed check inside a running case; turned into the case's outcome. */
export class CaseFailure extends Data.TaggedError("CaseFailure")<{
  readonly outcome: FailureTag
  readonly detail: string
}> {
  override get message(): string {
    return `${this.outcome}: ${this.detail}`
  }
}

/** Fails the running case with `mismatch`. */
export const mismatch = (detail: string): CaseFailure => new CaseFailure({ outcome: "mismatch", detail })
/** Fails the running case with `decodeError`. */
export const decodeError = (detail: string): CaseFailure => new CaseFailure({ outcome: "decodeError", detail })
/** Fails the running case with `transportError`. */
export const transportError = (detail: string): CaseFailure => new CaseFailure({ outcome: "transportError", detail })
/** Fails the running case with `timeout`. */
export const timeout = (detail: string): CaseFailure => new CaseFailure({ outcome: "timeout", detail })

/** The outcome a {@link CaseFailure} stands for. */
export const fromFailure = (failure: CaseFailure): Outcome => {
  switch (failure.outcome) {
    case "mismatch":
      return Outcome.mismatch({ detail: failure.detail })
    case "decodeError":
      return Outcome.decodeError({ detail: failure.detail })
    case "transportError":
      return Outcome.transportError({ detail: failure.detail })
    case "timeout":
      return Outcome.timeout({ detail: failure.detail })
  }
}

/**
 * The verdict on a case once the expected-failure list is applied.
 *
 * - `pass`: ok and not listed; `xfail`: failed and listed (tolerated).
 * - `fail`: failed and not listed; `xpass`: ok but listed — remove it from the list. Both fail the run.
 * - `skip`: skipped, with the reason; does not fail the run — unless the skip is an unavailable
 *   implementation listed in `required` (`--require rust,go`), which is judged `fail`.
 */
export type Verdict = "pass" | "fail" | "xfail" | "xpass" | "skip"

/** Judges an outcome. `required`: implementations whose absence is a failure (`--require`). */
export const verdict = (
  outcome: Outcome,
  expectedFailure: boolean,
  required: ReadonlySet<string> = new Set()
): Verdict => {
  if (outcome._tag === "skipped")
    return outcome.toolchain && outcome.impl !== undefined && required.has(outcome.impl) ? "fail" : "skip"
  if (outcome._tag === "ok") return expectedFailure ? "xpass" : "pass"
  return expectedFailure ? "xfail" : "fail"
}
