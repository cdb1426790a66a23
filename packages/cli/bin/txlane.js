#!/usr/bin/env node
// Checked in rather than built, so that npm links it at install time (see launch.js).
import { launch } from "./launch.js"

await launch("txlane")
