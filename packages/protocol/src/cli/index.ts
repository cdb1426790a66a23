/**
 * `@txlane/protocol/cli`: the small toolkit shared by the txlane command-line tools
 * (`txlane-sender`, `txlane-receiver`, the demo): the live view (status line or JSON lines),
 * number formatting and the summary table, the `--metrics` HTTP endpoint, exit codes.
 *
 * Not part of the wire format; it lives here because both CLIs need it and neither package
 * may depend on the other. Depends on `effect` only.
 *
 * @module
 */
export * as Flags from "./Flags.js"
export * as Format from "./Format.js"
export * as LiveView from "./LiveView.js"
export * as Main from "./Main.js"
export * as MetricsHttp from "./MetricsHttp.js"
