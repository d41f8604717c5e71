// The -o options of `tsfuse passthrough`: one table gives, for every option,
// its spellings, the form of its value, its default and meaning (for --help)
// and what it sets. Unknown names and bad values are usage errors that name
// the option and the accepted form; nothing is silently dropped.

import type { PassthroughOptions } from '../fs/passthrough/options.js';
import { READDIRPLUS_POLICIES } from '../fs/passthrough/options.js';
import type { MountOptions } from '../mount.js';
import { IdMap } from '../fs/passthrough/idmap.js';
import { UsageError } from './errors.js';
import { DEFAULT_SPIN_US } from '../session/session.js';
import { closest, formatSize, parseDuration, parsePositiveInt, parseSize, parseSwitch, splitOptions, ValueError } from './values.js';

/** What the -o options configure; everything structured-cloneable (it crosses to the daemon). */
export interface OptionConfig {
  /** Options of PassthroughFs, except `source`. */
  fs: Omit<PassthroughOptions, 'source'>;
  /** The library MountOptions that -o can set. */
  mount: Pick<MountOptions,
    'allowOther' | 'allowRoot' | 'defaultPermissions' | 'readOnly' | 'fsname' | 'subtype' | 'autoUnmount' |
    'nosuid' | 'nodev' | 'noexec' | 'noatime' | 'maxWrite' | 'spinUs' | 'spliceRead' | 'ring' | 'debug'>;

  /** threads=N: validated, recorded, no effect (one session thread). */
  threads?: number;
  /** log=FILE: where the background daemon's stdout/stderr go. */
  log?: string;
  /** -o debug (implies foreground). */
  debug: boolean;
  /** Options ignored with a reason, to print as warnings. */
  warnings: string[];
  /** Options given explicitly, by canonical name (for conflict checks). */
  given: Set<string>;
}

export function emptyConfig(): OptionConfig {
  return { fs: {}, mount: {}, debug: false, warnings: [], given: new Set() };
}

export type Group = 'fs' | 'mount' | 'generic';

interface ValueSpec {
  /** Placeholder in help: name=ARG. */
  arg: string;
  parse(v: string, name: string): unknown;
}

export interface OptionSpec {
  /** Spellings for help; the first is the canonical name. */
  names: string[];
  /** Spellings taking no value, mapped to the value handed to set(). */
  flags?: Record<string, unknown>;
  /** name=VALUE (canonical name only). */
  value?: ValueSpec;
  /** Accepted spelling prefixes (x-*, comment=*). */
  prefixes?: string[];
  /** Refused with this reason. */
  reject?: string;
  group: Group;
  dflt: string;
  help: string;
  set(c: OptionConfig, v: unknown, spelled: string): void;
}

const SWITCH: ValueSpec = { arg: 'on|off', parse: (v) => parseSwitch(v) };
const SECONDS: ValueSpec = { arg: 'SECONDS', parse: (v) => parseDuration(v) };

function enumOf(values: string[]): ValueSpec {
  return {
    arg: values.join('|'),
    parse(v) {
      if (!values.includes(v)) throw new ValueError(`one of ${values.join(', ')}`);
      return v;
    },
  };
}

function sizeIn(min: number, max: number): ValueSpec {
  return {
    arg: 'BYTES',
    parse(v) {
      const n = parseSize(v);
      if (n < min || n > max) throw new ValueError(`a size from ${formatSize(min)} to ${formatSize(max)}, optionally with a suffix k, M or G (e.g. 128K)`);
      return n;
    },
  };
}

function countIn(min: number, max: number): ValueSpec {
  return {
    arg: 'N',
    parse(v) {
      const n = /^[0-9]+$/.test(v) ? Number(v) : NaN;
      if (!(n >= min && n <= max)) throw new ValueError(`a whole number from ${min} to ${max}`);
      return n;
    },
  };
}

const MAPPING_FORM = (o: string): string => `${o}=HOST:CLIENT:LENGTH[:HOST:CLIENT:LENGTH...] with LENGTH >= 1, e.g. ${o}=1000:0:1`;

const MAPPING: ValueSpec = {
  arg: 'H:C:N[:H:C:N...]',
  parse(v, name) {
    if (v === '') throw new ValueError(MAPPING_FORM(name));
    try {
      IdMap.parse(name as 'uidmapping' | 'gidmapping', v);
    } catch (e) {
      const problem = (e as Error).message.replace(new RegExp(`^${name}: `), '').replace(/; expected .*$/, '');
      throw new ValueError(MAPPING_FORM(name), problem);
    }
    return v;
  },
};

const NAME: ValueSpec = {
  arg: 'NAME',
  parse(v) {
    if (v === '' || /[\s,]/.test(v)) throw new ValueError('a non-empty name without spaces or commas');
    return v;
  },
};

const PATH: ValueSpec = {
  arg: 'FILE',
  parse(v) {
    if (v === '') throw new ValueError('the path of a file');
    return v;
  },
};

const SPIN: ValueSpec = {
  arg: 'US',
  parse(v) {
    const t = v.trim();
    const n = Number(t);
    if (!/^\d+$/.test(t) || !Number.isSafeInteger(n) || n > 10_000) throw new ValueError('a whole number of microseconds from 0 to 10000');
    return n;
  },
};

const THREADS: ValueSpec = {
  arg: 'N',
  parse(v) {
    const n = parsePositiveInt(v);
    if (n > 1024) throw new ValueError('a positive integer up to 1024');
    return n;
  },
};

/** A passthrough switch: `name`, optionally `noname`, and `name=on|off`. */
function fsSwitch(name: string, key: keyof OptionConfig['fs'], dflt: string, help: string, neg?: string): OptionSpec {
  return {
    names: neg ? [name, neg] : [name],
    flags: neg ? { [name]: true, [neg]: false } : { [name]: true },
    value: SWITCH,
    group: 'fs',
    dflt,
    help,
    set: (c, v) => ((c.fs as Record<string, unknown>)[key] = v),
  };
}

function fsTimeout(name: string, key: keyof OptionConfig['fs'], dflt: string, help: string): OptionSpec {
  return { names: [name], value: SECONDS, group: 'fs', dflt, help, set: (c, v) => ((c.fs as Record<string, unknown>)[key] = v) };
}

/** Options that mean something to mount(8) or fstab only: accepted, no effect. */
function mountOnly(names: string[], help: string): OptionSpec {
  return { names, flags: Object.fromEntries(names.map((n) => [n, true])), group: 'generic', dflt: '', help, set: () => {} };
}

export const OPTIONS: OptionSpec[] = [
  // The passthrough filesystem.
  {
    names: ['cache'],
    value: enumOf(['never', 'none', 'metadata', 'auto', 'always']),
    group: 'fs',
    dflt: 'auto',
    help: 'page cache policy: never (=none: direct I/O, nothing cached), metadata (attributes and entries only), auto (file data kept while unchanged on the host; a directory\'s listing kept while the host directory is unchanged and the names it gave are fresh), always (file data and symlinks kept across opens)',
    set: (c, v) => (c.fs.cache = v as OptionConfig['fs']['cache']),
  },
  fsSwitch('auto_inval_data', 'autoInvalData', 'on', 'drop an open file\'s cached pages when the host file\'s mtime or size changes (seen when attributes are refreshed); off keeps them until the file is reopened, and the file\'s own writes then no longer empty its cache (faster mixed reads and writes without passthrough)', 'noauto_inval_data'),
  fsSwitch('keep_listings', 'keepListings', 'on', 'cache=auto: the kernel keeps a directory\'s listing while the host directory is unchanged (checked at each open); off reads every listing from the host, which spares a walk that lists each directory once the kernel\'s copy of it', 'nokeep_listings'),
  fsTimeout('entry_timeout', 'entryTimeout', '5', 'seconds the kernel may cache a name lookup (non-directories); fractions and ms/s/m/h units allowed, e.g. 0.5 or 500ms'),
  fsTimeout('attr_timeout', 'attrTimeout', '5', 'seconds the kernel may cache attributes (non-directories)'),
  fsTimeout('dir_entry_timeout', 'dirEntryTimeout', 'entry_timeout', 'the same as entry_timeout, for directories'),
  fsTimeout('dir_attr_timeout', 'dirAttrTimeout', 'attr_timeout', 'the same as attr_timeout, for directories'),
  fsTimeout('negative_timeout', 'negativeTimeout', '0', 'seconds the kernel may remember that a name does not exist (0: it asks every time); a file created on the host behind the mount stays unseen that long'),
  fsSwitch('writeback', 'writeback', 'off', 'kernel writeback cache: writes are gathered in the page cache and sent later (off with cache=never)', 'nowriteback'),
  fsSwitch('no_open', 'noOpen', 'off', 'zero-message opens: the kernel opens files without asking (needs cache=always, else turned off with a warning)'),
  fsSwitch('no_opendir', 'noOpendir', 'off', 'zero-message opendir: the kernel opens directories without asking, and caches their listings (needs cache=metadata or always, else turned off with a warning)'),
  fsSwitch('no_readdir', 'noReaddir', 'off', 'directories list as empty (names still resolve)'),
  {
    names: ['readdirplus'],
    value: enumOf([...READDIRPLUS_POLICIES]),
    group: 'fs',
    dflt: 'auto',
    help: 'when directory listings carry each entry\'s attributes, sparing a lookup per name: auto (the kernel chooses per read), always, never (names only)',
    set: (c, v) => (c.fs.readdirplus = v as OptionConfig['fs']['readdirplus']),
  },
  fsSwitch('seal_size', 'sealSize', 'off', 'refuse every change of a file\'s size (truncate, O_TRUNC, writes or fallocate past the end) with EPERM'),
  fsSwitch('xattr', 'xattr', 'on', 'extended attributes; off answers ENOSYS so the kernel stops asking', 'noxattr'),
  fsSwitch('killpriv_v2', 'killprivV2', 'off', 'negotiate HANDLE_KILLPRIV_V2: the filesystem clears suid/sgid bits and capabilities on write, truncate and chown'),
  fsSwitch('use_host_ino', 'useHostIno', 'off', 'inode numbers derived from the host\'s instead of assigned by tsfuse'),
  fsSwitch('allow_direct_io', 'allowDirectIo', 'on', 'keep O_DIRECT in open flags on the host; off strips it', 'noallow_direct_io'),
  fsSwitch('use_mmap', 'useMmap', 'off', 'accepted for compatibility with the reference passthrough (its DAX window); no effect in tsfuse'),
  {
    names: ['max_mmap_size'],
    value: sizeIn(1, Number.MAX_SAFE_INTEGER),
    group: 'fs',
    dflt: '1G',
    help: 'accepted for compatibility with use_mmap (size with k/M/G suffix); no effect in tsfuse',
    set: (c, v) => (c.fs.maxMmapSize = v as number),
  },
  { names: ['uidmapping'], value: MAPPING, group: 'fs', dflt: 'none', help: 'map user ids: host id H appears as client id C, for N ids; unmapped ids appear as the overflow id (65534)', set: (c, v) => (c.fs.uidmapping = v as string) },
  { names: ['gidmapping'], value: MAPPING, group: 'fs', dflt: 'none', help: 'map group ids, the same way', set: (c, v) => (c.fs.gidmapping = v as string) },
  fsSwitch('file_handles', 'fileHandles', 'on', 'reopen inodes whose fd was closed from kernel file handles (needs root); off, or not root: by parent directory and name, checked against the file\'s identity', 'nofile_handles'),
  {
    names: ['fd_budget'],
    value: countIn(16, 1 << 30),
    group: 'fs',
    dflt: 'the fd limit less a reserve',
    help: 'at most N fds for inodes and open files together (never more than the default); past it, inode fds are closed and reopened when needed, and opens get EMFILE',
    set: (c, v) => (c.fs.fdBudget = v as number),
  },
  fsSwitch('passthrough', 'passthrough', 'on', 'kernel FUSE passthrough of file data (used as root, with cache=auto|always and without writeback, where the kernel supports it)', 'nopassthrough'),

  // The mount.
  { names: ['allow_other'], flags: { allow_other: true }, group: 'mount', dflt: 'off', help: 'let every user through the mount (as non-root: needs user_allow_other in /etc/fuse.conf)', set: (c) => (c.mount.allowOther = true) },
  { names: ['allow_root'], flags: { allow_root: true }, group: 'mount', dflt: 'off', help: 'let root through as well as the mounting user (excludes allow_other)', set: (c) => (c.mount.allowRoot = true) },
  {
    names: ['default_permissions'],
    flags: { default_permissions: true },
    group: 'mount',
    dflt: 'off',
    help: 'the kernel checks permissions from the file modes itself',
    set: (c) => {
      c.mount.defaultPermissions = true;
      c.fs.defaultPermissions = true;
    },
  },
  { names: ['ro', 'rw'], flags: { ro: true, rw: false }, group: 'mount', dflt: 'rw', help: 'read-only or read-write mount; the last one given wins', set: (c, v) => (c.mount.readOnly = v as boolean) },
  { names: ['fsname'], value: NAME, group: 'mount', dflt: 'the source path', help: 'source name shown in /proc/mounts and df', set: (c, v) => (c.mount.fsname = v as string) },
  { names: ['subtype'], value: NAME, group: 'mount', dflt: 'tsfuse', help: 'file system type shown as fuse.SUBTYPE', set: (c, v) => (c.mount.subtype = v as string) },
  { names: ['auto_unmount'], flags: { auto_unmount: true }, group: 'mount', dflt: 'off', help: 'unmount when the daemon dies, even by SIGKILL (mounts through fusermount3, which stays to watch)', set: (c) => (c.mount.autoUnmount = true) },
  { names: ['max_write'], value: sizeIn(4096, 1 << 20), group: 'mount', dflt: '1M', help: 'largest WRITE (and READ reply) in bytes, 4K to 1M, k/M suffixes allowed', set: (c, v) => (c.mount.maxWrite = v as number) },
  {
    names: ['threads'],
    value: THREADS,
    group: 'mount',
    dflt: '1',
    help: 'accepted and validated (a positive integer) for compatibility; no effect: the engine serves every request from one session thread (asynchronous handlers still overlap)',
    set: (c, v) => (c.threads = v as number),
  },
  {
    names: ['spin'],
    value: SPIN,
    group: 'mount',
    dflt: `${DEFAULT_SPIN_US} (0 on a single CPU)`,
    help: 'after each request, poll for the next one for US microseconds before sleeping: saves a thread wake-up per request in bursts, costs at most US of CPU per request (past 10 us each poll yields the CPU to a thread waiting for it); 0 turns it off',
    set: (c, v) => (c.mount.spinUs = v as number),
  },
  { names: ['splice_read'], flags: { splice_read: true }, group: 'mount', dflt: 'off', help: 'move large READ replies (without kernel passthrough) with splice(2): one copy less for clean pages, but measured twice as slow on data just written to a journaled ext4', set: (c) => (c.mount.spliceRead = true) },
  { names: ['ring', 'ring_always', 'noring'], flags: { ring: true, ring_always: 'always', noring: false }, group: 'mount', dflt: 'ring', help: 'without kernel passthrough, READs go through io_uring when they overlap (one is on the disk, or others wait behind it): several on the disk at once while the session thread goes on with other requests; ring_always: every READ (for a source whose reads can take long, such as a network filesystem); noring: each read is a pread on the session thread (silently so where the kernel refuses io_uring). O_DIRECT writes go the same way (their opens allow parallel writes); buffered writes are always pwrite on the session thread', set: (c, v) => (c.mount.ring = v as boolean | 'always') },
  { names: ['debug'], flags: { debug: true }, group: 'mount', dflt: 'off', help: 'log every request and reply on stderr; implies foreground (same as -d)', set: (c) => (c.debug = true) },
  { names: ['log'], value: PATH, group: 'mount', dflt: '/dev/null', help: 'in the background, append the daemon\'s messages to FILE (ignored with -f: they go to stderr)', set: (c, v) => (c.log = v as string) },

  // What mount(8) and fstab pass.
  { names: ['dev', 'nodev'], flags: { dev: false, nodev: true }, group: 'generic', dflt: 'nodev', help: 'allow device files (root only; mount.fuse3 passes dev unless nodev is given)', set: (c, v) => (c.mount.nodev = v as boolean) },
  { names: ['suid', 'nosuid'], flags: { suid: false, nosuid: true }, group: 'generic', dflt: 'nosuid', help: 'honour setuid/setgid bits (root only; mount.fuse3 passes suid unless nosuid is given)', set: (c, v) => (c.mount.nosuid = v as boolean) },
  { names: ['exec', 'noexec'], flags: { exec: false, noexec: true }, group: 'generic', dflt: 'exec', help: 'allow running programs from the mount', set: (c, v) => (c.mount.noexec = v as boolean) },
  { names: ['atime', 'noatime', 'relatime'], flags: { atime: false, noatime: true, relatime: false }, group: 'generic', dflt: 'relatime', help: 'noatime: never update access times; atime and relatime: the kernel default (relatime)', set: (c, v) => (c.mount.noatime = v as boolean) },
  {
    names: ['diratime', 'nodiratime', 'strictatime'],
    flags: { diratime: 'diratime', nodiratime: 'nodiratime', strictatime: 'strictatime' },
    group: 'generic',
    dflt: 'diratime',
    help: 'diratime: accepted (the default); nodiratime and strictatime: not supported, ignored with a warning (nodiratime is implied by noatime)',
    set: (c, v) => {
      if (v === 'nodiratime') c.given.add('nodiratime');
      if (v === 'strictatime') c.warnings.push('option \'strictatime\' is not supported and is ignored: access times follow the kernel default (relatime)');
    },
  },
  { names: ['async'], flags: { async: true }, group: 'generic', dflt: 'async', help: 'accepted (the default)', set: () => {} },
  {
    names: ['sync'],
    flags: { sync: true },
    reject: 'tsfuse cannot mount synchronously; without -o writeback every write(2) already reaches the source file before it returns, use fsync(2) for durability',
    group: 'generic',
    dflt: '',
    help: 'refused: tsfuse cannot mount synchronously (without writeback each write(2) reaches the source before returning)',
    set: () => {},
  },
  mountOnly(['defaults'], 'accepted, no effect (mount(8) expands it; the FUSE defaults nosuid,nodev stay)'),
  mountOnly(['auto', 'noauto', 'user', 'users', 'nouser', 'owner', 'group', 'nofail', '_netdev'], 'for mount(8) and fstab: accepted, no effect on tsfuse'),
  { names: ['x-*', 'comment=*'], prefixes: ['x-', 'comment='], group: 'generic', dflt: '', help: 'for userspace tools (systemd, mount(8)): accepted, ignored', set: () => {} },
];

const byFlag = new Map<string, OptionSpec>();
const byValued = new Map<string, OptionSpec>();
for (const o of OPTIONS) {
  for (const f of Object.keys(o.flags ?? {})) byFlag.set(f, o);
  if (o.value) byValued.set(o.names[0]!, o);
}

/** Every spelling, for suggestions. */
export function allSpellings(): string[] {
  return [...new Set([...byFlag.keys(), ...byValued.keys()])];
}

function unknown(key: string): UsageError {
  const near = closest(key, allSpellings());
  return new UsageError(`unknown option '${key}'${near ? `; did you mean '${near}'?` : `; see 'tsfuse passthrough --help' for the options`}`);
}

/** Applies one option ("name" or "name=value") to the configuration. */
export function applyOption(c: OptionConfig, opt: string): void {
  const eq = opt.indexOf('=');
  const key = eq < 0 ? opt : opt.slice(0, eq);
  const value = eq < 0 ? undefined : opt.slice(eq + 1);
  const prefixed = OPTIONS.find((o) => o.prefixes?.some((p) => opt.startsWith(p)));
  if (prefixed) return;
  const spec = value === undefined ? byFlag.get(key) ?? byValued.get(key) : byValued.get(key) ?? byFlag.get(key);
  if (!spec) throw unknown(key);
  if (spec.reject) throw new UsageError(`option '${key}' is not supported: ${spec.reject}`);
  const canonical = spec.names[0]!;
  if (value === undefined) {
    if (!spec.flags || !(key in spec.flags)) {
      throw new UsageError(`option '${key}' needs a value: ${key}=${spec.value!.arg}`);
    }
    spec.set(c, spec.flags[key], key);
  } else {
    if (!spec.value || key !== canonical) throw new UsageError(`option '${key}' takes no value (got '${opt}')`);
    let v: unknown;
    try {
      v = spec.value.parse(value, key);
    } catch (e) {
      if (e instanceof ValueError) throw new UsageError(`bad value '${value}' for option '${key}': ${e.message}`);
      throw e;
    }
    spec.set(c, v, key);
  }
  c.given.add(key);
  c.given.add(canonical);
}

/** Applies an -o argument (comma-separated list). */
export function applyOptionList(c: OptionConfig, arg: string): void {
  for (const o of splitOptions(arg)) applyOption(c, o.trim());
}

/** Cross-option checks once every option is in: true conflicts are usage errors, the rest warnings. */
export function finishOptions(c: OptionConfig): void {
  if (c.mount.allowOther && c.mount.allowRoot) {
    throw new UsageError(`options 'allow_other' and 'allow_root' exclude each other: allow_other already lets root in`);
  }
  if (c.given.has('nodiratime') && !c.mount.noatime) {
    c.warnings.push('option \'nodiratime\' is not supported and is ignored (use noatime, which covers directories too)');
  }
  if (c.fs.passthrough === true && c.given.has('passthrough')) {
    const why: string[] = [];
    if (process.geteuid?.() !== 0) why.push('it needs root');
    if (c.fs.cache === 'never' || c.fs.cache === 'none' || c.fs.cache === 'metadata') why.push(`cache=${c.fs.cache} sends file data through the daemon`);
    if (c.fs.writeback) why.push('writeback excludes it');
    if (why.length) c.warnings.push(`passthrough will not be used: ${why.join('; ')}`);
  }
  if (c.threads !== undefined && c.threads > 1) {
    c.warnings.push(`threads=${c.threads} has no effect: the engine serves every request from one session thread`);
  }
}
