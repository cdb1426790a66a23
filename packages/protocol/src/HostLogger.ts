/**
 * Where the libraries' log lines go when a host program uses their Promise APIs: never to
 * stdout, which belongs to the host (a CLI pipeline, a JSON-lines protocol). By default one line
 * per event on stderr; or the host's own logger (`console`, pino, winston: anything with
 * `debug`/`info`/`warn`/`error` methods taking a string).
 *
 * The Effect APIs do not use this: they log through the ambient Effect `Logger`, which the host
 * configures like any other Effect program.
 *
 * @module
 */
import { Layer, Logger, References } from "effect"

/** A host's logger. `console` and pino satisfy it. */
export interface LoggerLike {
  /** Writes a debug line. */
  debug(message: string): void
  /** Writes an info line. */
  info(message: string): void
  /** Writes a warning line. */
  warn(message: string): void
  /** Writes an error line. */
  error(message: string): void
}

/** The least severe level written; `"none"` writes nothing. */
export type Level = "debug" | "info" | "warn" | "error" | "none"

/** Default {@link Level}: warnings and errors only. */
export const DEFAULT_LEVEL: Level = "warn"

/** Options of {@link layer}. */
export interface Options {
  /** Where lines go. Default: stderr, one line each (`<ISO time> WARN <message>`). */
  readonly logger?: LoggerLike | undefined
  /** Default {@link DEFAULT_LEVEL}. */
  readonly logLevel?: Level | undefined
}

const MINIMUM = {
  debug: "Debug",
  info: "Info",
  warn: "Warn",
  error: "Error",
  none: "None"
} as const

const stderr: LoggerLike = {
  debug: (message) => writeStderr("DEBUG", message),
  info: (message) => writeStderr("INFO", message),
  warn: (message) => writeStderr("WARN", message),
  error: (message) => writeStderr("ERROR", message)
}

const writeStderr = (level: string, message: string): void => {
  process.stderr.write(`${new Date().toISOString()} ${level} ${message}\n`)
}

const text = (message: unknown): string =>
  (Array.isArray(message) ? message : [message])
    .map((part) => (typeof part === "string" ? part : part instanceof Error ? part.message : JSON.stringify(part)))
    .join(" ")

/** Checks a `logLevel` option; undefined when it is not a {@link Level}. */
export const parseLevel = (value: unknown): Level | undefined =>
  typeof value === "string" && value in MINIMUM ? (value as Level) : undefined

/**
 * A layer that replaces the loggers with one writing to `logger` (or stderr) and sets the
 * minimum level. Provide it around what a Promise API runs.
 */
export const layer = (options: Options = {}): Layer.Layer<never> => {
  const target = options.logger ?? stderr
  const logger = Logger.make(({ logLevel, message }) => {
    const line = text(message)
    switch (logLevel) {
      case "Trace":
      case "Debug":
        return target.debug(line)
      case "Info":
        return target.info(line)
      case "Warn":
        return target.warn(line)
      default:
        return target.error(line)
    }
  })
  return Layer.merge(
    Logger.layer([logger]),
    Layer.succeed(References.MinimumLogLevel, MINIMUM[options.logLevel ?? DEFAULT_LEVEL])
  )
}
