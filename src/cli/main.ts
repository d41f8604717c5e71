#!/usr/bin/env node
// The tsfuse command: parses the command line, runs the command, turns
// errors into one line on stderr and the exit status (0 ok, 1 failed, 2 usage).

import { parseCommand } from './args.js';
import { EXIT_FAILURE, EXIT_OK, Failure, UsageError } from './errors.js';
import { help, version } from './help.js';
import { prepare, runDaemon, serveForeground, startBackground } from './serve.js';
import { runUnmount } from './unmount.js';

async function run(argv: string[]): Promise<number> {
  const cmd = parseCommand(argv);
  switch (cmd.kind) {
    case 'help':
      process.stdout.write(help(cmd.topic));
      return EXIT_OK;
    case 'version':
      process.stdout.write(`tsfuse ${version()}\n`);
      return EXIT_OK;
    case 'unmount':
      return runUnmount(cmd.mountpoint, { lazy: cmd.lazy, force: cmd.force });
    case 'daemon':
      return runDaemon();
    case 'passthrough': {
      const plan = prepare(cmd);
      return cmd.foreground ? serveForeground(plan) : startBackground(plan);
    }
  }
}

export async function main(argv: string[]): Promise<number> {
  try {
    return await run(argv);
  } catch (e) {
    if (e instanceof UsageError || e instanceof Failure) {
      process.stderr.write(`tsfuse: ${e.message}\n`);
      return e.exitCode;
    }
    process.stderr.write(`tsfuse: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return EXIT_FAILURE;
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code));
