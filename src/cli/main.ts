#!/usr/bin/env node
/**
 * Entry point of the `alert-history-db` executable (package.json `bin`): runs {@link runCli} on
 * this process's arguments, streams and environment, and sets the exit status.
 */
import { runCli } from './run-cli.js';

process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
