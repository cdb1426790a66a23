#!/usr/bin/env node
/**
 * `txlane send …` / `txlane receive …`: the same commands as `txlane-sender` and
 * `txlane-receiver`, under one name.
 *
 * @module
 */
import { Command } from "effect/cli"
import * as Receive from "../receiver/command.js"
import { main } from "../run.js"
import * as Send from "../sender/command.js"

main("txlane", (requested) =>
  Command.make("txlane").pipe(
    Command.withDescription("txlane command-line tools: `txlane send --help`, `txlane receive --help`."),
    Command.withSubcommands([Send.make(requested, "send"), Receive.make(requested, "receive")])
  )
)
