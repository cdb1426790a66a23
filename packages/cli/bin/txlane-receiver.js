#!/usr/bin/env node
// Checked in rather than built, so that `npm install` / `npm ci` can link the bin before the
// first build (npm skips a bin whose target is missing); it runs the compiled command.
import "../dist/bin/txlane-receiver.js"
