/**
 * Process plumbing shared by the txlane command-line tools: the documented exit codes, the
 * `NodeRuntime.runMain` teardown that applies them, and a short usage-error presenter.
 *
 * @module
 */
import { createRequire } from "node:module"
import { Cause, Console, Effect, Exit, Layer, Option, type Runtime, type Scope } from "effect"
import { CliError, CliOutput } from "effect/cli"
import * as Telemetry from "./Telemetry.js"

/** The exit codes of `txlane-sender` and `txlane-receiver` (documented in their READMEs). */
export const ExitCode = {
  /** Finished normally: everything was delivered / submitted (also after SIGINT/SIGTERM). */
  ok: 0,
  /** A runtime failure: cannot listen or connect, bad input file, metrics port in use… */
  failure: 1,
  /** A usage error: unknown flag, bad value (also one the library refuses: `InvalidOptions`). Nothing was started. */
  usage: 2,
  /** Finished, but incompletely: batches not delivered (sender) or frames not submitted at the shutdown deadline (receiver). */
  incomplete: 3
} as const

/** The code the program asks for, set before it ends; read by {@link teardown}. */
export class RequestedExit {
  code: number | undefined = undefined
}

/**
 * A `runMain` teardown: a usage error (`CliError`, or help shown because of one) → 2; otherwise the code the program
 * requested (`requested.code`, also after an interruption by SIGINT/SIGTERM, which the tools
 * treat as "stop gracefully"); otherwise 0 for success, 1 for failure, 130 for an interruption
 * that happened before the program could request anything.
 */
export const teardown =
  (requested: RequestedExit): Runtime.Teardown =>
  (exit, onExit) => {
    if (Exit.isFailure(exit)) {
      const failure = exit.cause.reasons.find((r) => r._tag === "Fail")
      if (failure !== undefined && failure._tag === "Fail" && CliError.isCliError(failure.error)) {
        const error = failure.error
        return onExit(error._tag === "ShowHelp" && error.errors.length === 0 ? ExitCode.ok : ExitCode.usage)
      }
      if (requested.code !== undefined) return onExit(requested.code)
      return onExit(Cause.hasInterruptsOnly(exit.cause) ? 130 : ExitCode.failure)
    }
    onExit(requested.code ?? ExitCode.ok)
  }

/**
 * Prints a bad invocation as its error(s) and one hint line on stderr, instead of the whole
 * help text followed by the error at the bottom (which scrolls the error out of sight).
 */
export const presenter = (name: string): Layer.Layer<never> =>
  CliOutput.layerPresenter({
    present: (event) =>
      event._tag === "InvalidInvocation"
        ? Effect.gen(function* () {
            const formatter = yield* CliOutput.Formatter
            yield* Console.error(formatter.formatErrors(event.errors).trim())
            yield* Console.error(`\nRun '${name} --help' for the flags.`)
          })
        : CliOutput.defaultPresenter.present(event)
  })

/**
 * The `version` of the package.json at `relative` from the module `moduleUrl` (pass
 * `import.meta.url`), for `--version`. The default suits a bin in `src/bin/` or `dist/bin/`.
 */
export const packageVersion = (moduleUrl: string, relative = "../../package.json"): string =>
  (createRequire(moduleUrl)(relative) as { readonly version: string }).version

/** The version of `@txlane/cli` (this file sits in `src/toolkit/` or `dist/toolkit/`). */
export const VERSION: string = packageVersion(import.meta.url)

const isInvalidOptions = (error: unknown): boolean =>
  typeof error === "object" && error !== null && (error as { readonly _tag?: unknown })._tag === "InvalidOptions"

/**
 * Runs a tool's scoped program under its logger and, given an OTLP endpoint, its exporters. A
 * failure clears the live status line, is logged, and requests {@link ExitCode.failure}; the
 * program's scope is closed first either way, then the exporters send what they still hold.
 */
export const runTool = <A, E extends { readonly message: string }, R>(
  program: Effect.Effect<A, E, R>,
  options: {
    readonly name: string
    readonly logger: Layer.Layer<never>
    readonly status: { close(): void }
    readonly requested: RequestedExit
    readonly otlpEndpoint: Option.Option<string>
  }
): Effect.Effect<A | undefined, never, Exclude<R, Scope.Scope>> =>
  Effect.scoped(program).pipe(
    Effect.catch((error: E) =>
      Effect.gen(function* () {
        options.status.close()
        yield* Effect.logError(error.message)
        // The libraries check every option before they start anything (`InvalidOptions`): a bad
        // value the flag parser let through is still a usage error.
        options.requested.code = isInvalidOptions(error) ? ExitCode.usage : ExitCode.failure
        return undefined
      })
    ),
    Effect.provide(
      Option.isSome(options.otlpEndpoint)
        ? Layer.merge(
            options.logger,
            Telemetry.layer(options.otlpEndpoint.value, { name: options.name, version: VERSION })
          )
        : options.logger
    )
  )
