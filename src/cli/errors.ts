// The two ways the command fails, each with its exit status.

/** Bad command line: exit status 2, nothing was attempted. */
export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The command line was fine but the mount or unmount failed: exit status 1. */
export class Failure extends Error {
  readonly exitCode = 1;
  constructor(message: string) {
    super(message);
    this.name = 'Failure';
  }
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
