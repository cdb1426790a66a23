/**
 * `@txlane/cli`: the txlane command-line tools (`txlane-sender`, `txlane-receiver`, `txlane`)
 * and the small toolkit they share, exported for other txlane tools (the conformance runner,
 * the demo): the live view (status line or JSON lines), number formatting and the summary
 * table, the `--metrics` HTTP endpoint with process and runtime metrics, OTLP export, exit codes and shared
 * flags.
 *
 * The libraries (`@txlane/sender`, `@txlane/receiver`, `@txlane/protocol`) do not depend on
 * this package, so a program that embeds them installs none of the CLI's dependencies.
 *
 * @module
 */
export * as Flags from "./toolkit/Flags.js"
export * as Format from "./toolkit/Format.js"
export * as LiveView from "./toolkit/LiveView.js"
export * as Main from "./toolkit/Main.js"
export * as MetricsHttp from "./toolkit/MetricsHttp.js"
export * as RuntimeMetrics from "./toolkit/RuntimeMetrics.js"
export * as Telemetry from "./toolkit/Telemetry.js"
