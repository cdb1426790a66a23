/**
 * Runs the `txlane-receiver` command under `NodeRuntime.runMain`, which turns SIGINT/SIGTERM into
 * an interruption (graceful stop) and applies the exit code (`Main.teardown`).
 *
 * @module
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Main } from "@txlane/protocol/cli"
import { Effect } from "effect"
import { Command } from "effect/cli"
import { make } from "./command.js"

/** Runs the command with the process's argv; `binUrl` locates package.json for `--version`. */
export const main = (binUrl: string): void => {
  const requested = new Main.RequestedExit()
  make(requested).pipe(
    Command.run({ version: Main.packageVersion(binUrl) }),
    Effect.provide([NodeServices.layer, Main.presenter("txlane-receiver")]),
    NodeRuntime.runMain({ teardown: Main.teardown(requested) })
  )
}
