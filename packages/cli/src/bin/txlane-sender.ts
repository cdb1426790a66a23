#!/usr/bin/env node
/**
 * `txlane-sender`: see `txlane-sender --help` and the README of `@txlane/cli`.
 *
 * @module
 */
import { main } from "../run.js"
import { make } from "../sender/command.js"

main("txlane-sender", make)
