// Help texts, generated from the option table so that every option is
// listed with its default and meaning.

import * as fs from 'node:fs';
import { OPTIONS } from './options.js';
import type { Group, OptionSpec } from './options.js';
import { PASSTHROUGH_USAGE, UNMOUNT_USAGE } from './args.js';
import type { HelpTopic } from './args.js';

const WIDTH = 79;

export function version(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function wrap(text: string, indent: number): string {
  const pad = ' '.repeat(indent);
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && pad.length + line.length + 1 + word.length > WIDTH) {
      lines.push(pad + line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(pad + line);
  return lines.join('\n');
}

function spelling(o: OptionSpec): string {
  const parts: string[] = [];
  for (const n of o.names) {
    if (o.value && n === o.names[0]) {
      const flagToo = o.flags && n in o.flags;
      parts.push(flagToo ? `${n}[=${o.value.arg}]` : `${n}=${o.value.arg}`);
    } else {
      parts.push(n);
    }
  }
  return parts.join(', ');
}

function optionLines(group: Group): string {
  return OPTIONS.filter((o) => o.group === group)
    .map((o) => {
      const head = `  ${spelling(o)}${o.dflt ? `  (default: ${o.dflt})` : ''}`;
      return `${head}\n${wrap(o.help, 6)}`;
    })
    .join('\n');
}

export const FSTAB_EXAMPLE = '/srv/data  /mnt/data  fuse.tsfuse  allow_other,uidmapping=1000:0:1  0  0';

export function passthroughHelp(): string {
  return `Usage: ${PASSTHROUGH_USAGE}
       tsfuse <source> <mountpoint> [-o opt[,opt...]]... [-f] [-d]

Serves the directory <source> on <mountpoint> through FUSE: every operation
is done on the host with the caller's uid and gid, errors pass unchanged.
Without -f the command returns once the mount is live (exit status 0) or has
failed (exit status 1 and the reason); the daemon keeps serving in the
background until unmounted ('tsfuse unmount', umount(8), fusermount3 -u) or
sent SIGINT/SIGTERM, which unmount cleanly.

Flags:
  -o opt[,opt...]    options, below; repeatable, the last value given wins;
                     '\\,' is a literal comma inside a value
  -f, --foreground   stay in the foreground; messages go to stderr
  -d, --debug        log every request and reply on stderr; implies -f
  -h, --help         this text
  -V, --version      the version of tsfuse

Options of the passthrough file system:
${optionLines('fs')}

Options of the mount:
${optionLines('mount')}

Options mount(8) and fstab pass:
${optionLines('generic')}

Durations are seconds with fractions (0.5) or with a unit (500ms, 2s, 1m, 1h).
Sizes are bytes or with a 1024-based suffix (4K, 128k, 1M, 1G).

Exit status: 0 mounted (or, with -f, unmounted cleanly); 1 the mount failed;
2 the command line is wrong.

With mount(8) and /etc/fstab (through mount.fuse3, which runs
'tsfuse <source> <mountpoint> -o <options>'; tsfuse must be in /usr/bin,
/usr/local/bin or another directory of the fixed PATH mount(8) uses):
  mount -t fuse.tsfuse /srv/data /mnt/data -o allow_other
  ${FSTAB_EXAMPLE}
`;
}

export function unmountHelp(): string {
  return `Usage: ${UNMOUNT_USAGE}

Unmounts a FUSE mount: a live one (the daemon then exits), or a dead one
left by a daemon that was killed (its files answer "Transport endpoint is not
connected"). When the mount is busy, says which processes hold it.

  -z, --lazy   detach now; the kernel finishes when nothing uses it any more
  -f, --force  for a daemon that hangs: abort its connection first (as
               umount -f does), so that every call waiting for it fails at
               once, then detach; as root, or with fusectl mounted
  -h, --help   this text

Exit status: 0 unmounted; 1 it failed (the reason is printed); 2 the command
line is wrong.
`;
}

export function mainHelp(): string {
  return `tsfuse ${version()}: FUSE file systems in TypeScript

Usage:
  ${PASSTHROUGH_USAGE}
  tsfuse <source> <mountpoint> [-o ...]    the same (the form mount(8) runs)
  ${UNMOUNT_USAGE}
  tsfuse help [passthrough|unmount]
  tsfuse --help | --version

Commands:
  passthrough   serve a host directory through FUSE (the default command)
  unmount       unmount a tsfuse (or any FUSE) mount, live or dead

${passthroughHelp()}`;
}

export function help(topic: HelpTopic): string {
  return topic === 'passthrough' ? passthroughHelp() : topic === 'unmount' ? unmountHelp() : mainHelp();
}
