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
 * Runs the command made by `make` with the process's argv. `binUrl` (the bin's
 * `import.meta.url`) locates package.json for `--version`.
 */
export const main = <Name extends string, Input, ContextInput, E>(
  name: Name,
  make: (requested: Main.RequestedExit) => Command.Command<Name, Input, ContextInput, E, NodeServices.NodeServices>,
  binUrl: string
): void => {
  const requested = new Main.RequestedExit()
  make(requested).pipe(
    Command.run({ version: Main.packageVersion(binUrl) }),
    Effect.provide([NodeServices.layer, Main.presenter(name)]),
    NodeRuntime.runMain({ teardown: Main.teardown(requested) })
  )
}
