#!/usr/bin/env -S node --max-semi-space-size=1 --v8-pool-size=1
import '../polyfill.js';
import { processIo } from './io.js';
import { runCli } from './program.js';

process.exitCode = await runCli(process.argv.slice(2), { io: processIo() });
