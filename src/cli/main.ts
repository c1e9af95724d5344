#!/usr/bin/env node
import '../polyfill.js';
import { processIo } from './io.js';
import { runCli } from './program.js';

process.exitCode = await runCli(process.argv.slice(2), { io: processIo() });
