#!/usr/bin/env node
/**
 * `txlane-receiver`: see `txlane-receiver --help` and the README's "Command line" section.
 *
 * @module
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Main } from "@txlane/protocol/cli"
import { Effect } from "effect"
import { Command } from "effect/cli"
import { make } from "../cli/command.js"

const requested = new Main.RequestedExit()

make(requested).pipe(
  Command.run({ version: Main.packageVersion(import.meta.url) }),
  Effect.provide([NodeServices.layer, Main.presenter("txlane-receiver")]),
  NodeRuntime.runMain({ teardown: Main.teardown(requested) })
)
