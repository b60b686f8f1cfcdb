#!/usr/bin/env node
/** The `podnet` command: CLI and `podnet agent`. Process I/O only; commands live in src/cli. */
import { runCommand } from '../cli/main.js';

runCommand(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`podnet: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
