// The command line: which command, its flags and positional arguments, and
// the -o options folded into one configuration. Usage errors are thrown as
// UsageError with one line that says what is wrong and the accepted form.

import { UsageError } from './errors.js';
import { applyOptionList, emptyConfig, finishOptions } from './options.js';
import type { OptionConfig } from './options.js';
import { closest } from './values.js';

export type HelpTopic = 'main' | 'passthrough' | 'unmount';

export type Command =
  | { kind: 'help'; topic: HelpTopic }
  | { kind: 'version' }
  | {
      kind: 'passthrough';
      source: string;
      mountpoint: string;
      options: OptionConfig;
      foreground: boolean;
      debug: boolean;
      /** Spelled `tsfuse <source> <mountpoint>`, without the command name. */
      implicit: boolean;
    }
  | { kind: 'unmount'; mountpoint: string; lazy: boolean; force: boolean }
  /** Internal: the background daemon started by `tsfuse passthrough` without -f. */
  | { kind: 'daemon'; source: string; mountpoint: string };

export const DAEMON_FLAG = '--_daemon';
export const COMMANDS = ['passthrough', 'unmount', 'help'];

export const PASSTHROUGH_USAGE = 'tsfuse passthrough <source> <mountpoint> [-o opt[,opt...]]... [-f|--foreground] [-d|--debug]';
export const UNMOUNT_USAGE = 'tsfuse unmount [-z|--lazy] [-f|--force] <mountpoint>';

const PASSTHROUGH_FLAGS = ['-o', '-f', '--foreground', '-d', '--debug', '-h', '--help', '-V', '--version'];
const UNMOUNT_FLAGS = ['-z', '--lazy', '-f', '--force', '-h', '--help'];

function unknownFlag(flag: string, known: string[], usage: string): UsageError {
  // Every short flag is one letter away from every other: suggest only for long ones.
  const near = flag.startsWith('--') ? closest(flag, known.filter((k) => k.startsWith('--'))) : undefined;
  return new UsageError(`unknown flag '${flag}'${near ? `; did you mean '${near}'?` : `; usage: ${usage}`}`);
}

/** Short flags may be bundled: -fd. Returns the letters, or undefined if `a` is not such a bundle. */
function bundle(a: string, letters: string): string[] | undefined {
  if (!/^-[a-zA-Z]{2,}$/.test(a)) return undefined;
  const ls = a.slice(1).split('');
  return ls.every((l) => letters.includes(l)) ? ls : undefined;
}

function parsePassthrough(args: string[], explicit: boolean): Command {
  const options = emptyConfig();
  const positional: string[] = [];
  let foreground = false;
  let debug = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (a === '-h' || a === '--help') return { kind: 'help', topic: 'passthrough' };
    if (a === '-V' || a === '--version') return { kind: 'version' };
    if (a === '-o') {
      const v = args[++i];
      if (v === undefined) throw new UsageError(`-o needs an argument: -o opt[,opt...]`);
      applyOptionList(options, v);
    } else if (a.startsWith('-o')) {
      applyOptionList(options, a.slice(2));
    } else if (a.startsWith('--options=')) {
      applyOptionList(options, a.slice('--options='.length));
    } else if (a === '-f' || a === '--foreground') {
      foreground = true;
    } else if (a === '-d' || a === '--debug') {
      debug = true;
    } else if (a.startsWith('-') && a !== '-') {
      const b = bundle(a, 'fd');
      if (!b) throw unknownFlag(a, PASSTHROUGH_FLAGS, PASSTHROUGH_USAGE);
      if (b.includes('f')) foreground = true;
      if (b.includes('d')) debug = true;
    } else {
      positional.push(a);
    }
  }
  if (positional.length > 2) {
    // `tsfuse pasthrough src mnt`: a mistyped command, not three paths.
    const near = explicit ? undefined : closest(positional[0]!, COMMANDS);
    if (near) throw new UsageError(`unknown command '${positional[0]}'; did you mean '${near}'?`);
    throw new UsageError(`too many arguments: '${positional.slice(2).join(' ')}'; usage: ${PASSTHROUGH_USAGE}`);
  }
  if (positional.length === 0) throw new UsageError(`missing <source> and <mountpoint>; usage: ${PASSTHROUGH_USAGE}`);
  if (positional.length === 1) throw new UsageError(`missing <mountpoint>; usage: ${PASSTHROUGH_USAGE}`);
  const [source, mountpoint] = positional as [string, string];
  if (source === '') throw new UsageError('<source> is an empty string');
  if (mountpoint === '') throw new UsageError('<mountpoint> is an empty string');
  finishOptions(options);
  debug ||= options.debug;
  // Like libfuse and sshfs: debugging output needs a terminal, so -d keeps the foreground.
  if (debug) foreground = true;
  return { kind: 'passthrough', source, mountpoint, options, foreground, debug, implicit: !explicit };
}

function parseUnmount(args: string[]): Command {
  let lazy = false;
  let force = false;
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (a === '-h' || a === '--help') return { kind: 'help', topic: 'unmount' };
    if (a === '-z' || a === '--lazy') lazy = true;
    else if (a === '-f' || a === '--force') force = true;
    else if (a.startsWith('-') && a !== '-') throw unknownFlag(a, UNMOUNT_FLAGS, UNMOUNT_USAGE);
    else positional.push(a);
  }
  if (positional.length === 0) throw new UsageError(`missing <mountpoint>; usage: ${UNMOUNT_USAGE}`);
  if (positional.length > 1) throw new UsageError(`too many arguments: '${positional.slice(1).join(' ')}'; usage: ${UNMOUNT_USAGE}`);
  if (positional[0] === '') throw new UsageError('<mountpoint> is an empty string');
  return { kind: 'unmount', mountpoint: positional[0]!, lazy, force };
}

/** Parses the arguments after the program name. */
export function parseCommand(argv: string[]): Command {
  const [first, ...rest] = argv;
  if (first === undefined) {
    throw new UsageError(`missing arguments; usage: ${PASSTHROUGH_USAGE} (or 'tsfuse --help')`);
  }
  switch (first) {
    case '-h':
    case '--help':
      return { kind: 'help', topic: 'main' };
    case 'help': {
      if (rest.length === 0) return { kind: 'help', topic: 'main' };
      if (rest[0] === 'passthrough') return { kind: 'help', topic: 'passthrough' };
      if (rest[0] === 'unmount' || rest[0] === 'umount') return { kind: 'help', topic: 'unmount' };
      const near = closest(rest[0]!, COMMANDS);
      throw new UsageError(`no help on '${rest[0]}'${near ? `; did you mean '${near}'?` : '; commands: passthrough, unmount'}`);
    }
    case '-V':
    case '--version':
      return { kind: 'version' };
    case DAEMON_FLAG: {
      if (rest.length !== 2) throw new UsageError(`${DAEMON_FLAG} is internal to tsfuse`);
      return { kind: 'daemon', source: rest[0]!, mountpoint: rest[1]! };
    }
    case 'passthrough':
      return parsePassthrough(rest, true);
    case 'unmount':
    case 'umount':
      return parseUnmount(rest);
    default:
      // `tsfuse <source> <mountpoint> -o ...`: what mount.fuse3 runs for `mount -t fuse.tsfuse`.
      return parsePassthrough(argv, false);
  }
}
