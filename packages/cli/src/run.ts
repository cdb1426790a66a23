/**
 * Runs a txlane command under `NodeRuntime.runMain`, which turns SIGINT/SIGTERM into an
 * interruption (the commands stop gracefully) and applies the exit code (`Main.teardown`).
 * The bins only call {@link main}.
 *
 * @module
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Effect } from "effect"
import { Command } from "effect/cli"
import { Main } from "./index.js"

/**
 * Runs the command made by `make` with the process's argv (`-V` is read as `--version`, as in
 * most tools; effect/cli's own short form is `-v`).
 */
export const main = <Name extends string, Input, ContextInput, E>(
  name: Name,
  make: (requested: Main.RequestedExit) => Command.Command<Name, Input, ContextInput, E, NodeServices.NodeServices>
): void => {
  const requested = new Main.RequestedExit()
  const argv = process.argv.slice(2).map((arg) => (arg === "-V" ? "--version" : arg))
  Command.runWith(make(requested), { version: Main.VERSION })(argv).pipe(
    Effect.provide([NodeServices.layer, Main.presenter(name)]),
    NodeRuntime.runMain({ teardown: Main.teardown(requested) })
  )
}
