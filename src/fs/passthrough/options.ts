// The passthrough filesystem's configuration: every option of the reference,
// validated with messages that name the option and the accepted form.

import { IdMap } from './idmap.js';
import { OptionError } from './option-error.js';

export type CachePolicy = 'never' | 'metadata' | 'auto' | 'always';
export const READDIRPLUS_POLICIES = ['auto', 'always', 'never'] as const;
export type ReaddirplusPolicy = (typeof READDIRPLUS_POLICIES)[number];

export interface PassthroughOptions {
  /** The host directory to serve. */
  source: string;
  /** TTL of lookup replies for non-directories, seconds (default 5). */
  entryTimeout?: number;
  /** TTL of attributes, seconds (default 5). */
  attrTimeout?: number;
  /** The same for directories (default: entryTimeout / attrTimeout). */
  dirEntryTimeout?: number;
  dirAttrTimeout?: number;
  /**
   * How long the kernel may remember that a name does not exist, seconds
   * (default 0: every lookup of a missing name comes to the filesystem).
   * A file created on the host behind the mount stays unseen that long.
   */
  negativeTimeout?: number;
  /** Page-cache policy (default auto); 'none' means 'never'. */
  cache?: CachePolicy | 'none';
  /**
   * AUTO_INVAL_DATA (default on): when fresh attributes show a new mtime or
   * size, the kernel drops the file's cached pages, so an open file sees
   * host-side changes. Off: cached pages stay until the file is reopened, and
   * the kernel's own writes no longer empty the cache of the file they wrote
   * (docs/benchmarks.md, randrw).
   */
  autoInvalData?: boolean;
  /**
   * cache=auto: let the kernel keep a directory's listing while the host
   * directory is unchanged (default on; docs/passthrough.md, "Listings kept
   * while unchanged"). Off: every listing is read from the host, and a walk
   * that lists each directory once is spared the kernel's copy of it.
   */
  keepListings?: boolean;
  /** Kernel writeback cache (default off). */
  writeback?: boolean;
  /** Zero-message opens (needs cache=always). */
  noOpen?: boolean;
  /** Zero-message opendir (needs cache=metadata or always: the kernel then keeps listings itself). */
  noOpendir?: boolean;
  /** readdir returns an empty listing. */
  noReaddir?: boolean;
  /**
   * When listings carry each entry's attributes (READDIRPLUS), so that the
   * kernel need not look the names up one by one: 'auto' (default) lets the
   * kernel choose per read (READDIRPLUS_AUTO), 'always' for every read,
   * 'never' lists names only.
   */
  readdirplus?: ReaddirplusPolicy;
  /** Refuse every change of a file's size with EPERM. */
  sealSize?: boolean;
  /** Extended attributes (default on); off answers ENOSYS. */
  xattr?: boolean;
  /** Negotiate HANDLE_KILLPRIV_V2: the filesystem clears suid/sgid/caps. */
  killprivV2?: boolean;
  /** Derive inode numbers from the host's. */
  useHostIno?: boolean;
  /** Keep O_DIRECT in open flags (default on). */
  allowDirectIo?: boolean;
  /** Accepted for compatibility with the reference; see docs/passthrough.md. */
  useMmap?: boolean;
  maxMmapSize?: number;
  /** "H:C:N[:H:C:N...]" host id, client id, length. */
  uidmapping?: string;
  gidmapping?: string;
  /** Kernel FUSE passthrough for file data (default on where the kernel and privileges allow). */
  passthrough?: boolean;
  /** The mount has default_permissions: the kernel checks modes itself. */
  defaultPermissions?: boolean;
  /**
   * Reopen inodes whose fd was closed from kernel file handles, where the
   * daemon may (CAP_DAC_READ_SEARCH; default on). Off, or not permitted:
   * by parent directory and name, checked against the inode's identity.
   */
  fileHandles?: boolean;
  /**
   * At most this many fds for inodes and open files together (default and
   * upper bound: RLIMIT_NOFILE less a reserve for the runtime).
   */
  fdBudget?: number;
}

export interface ResolvedOptions {
  source: string;
  entryTimeout: number;
  attrTimeout: number;
  dirEntryTimeout: number;
  dirAttrTimeout: number;
  negativeTimeout: number;
  cache: CachePolicy;
  autoInvalData: boolean;
  keepListings: boolean;
  writeback: boolean;
  noOpen: boolean;
  noOpendir: boolean;
  noReaddir: boolean;
  readdirplus: ReaddirplusPolicy;
  sealSize: boolean;
  xattr: boolean;
  killprivV2: boolean;
  useHostIno: boolean;
  allowDirectIo: boolean;
  useMmap: boolean;
  maxMmapSize: number;
  uidMap: IdMap;
  gidMap: IdMap;
  passthrough: boolean;
  defaultPermissions: boolean;
  fileHandles: boolean;
  fdBudget: number;
  /** Conflicts resolved the reference's way, to be shown to the user. */
  warnings: string[];
}

export { OptionError };

const KNOWN = new Set<keyof PassthroughOptions>([
  'source', 'entryTimeout', 'attrTimeout', 'dirEntryTimeout', 'dirAttrTimeout', 'negativeTimeout', 'cache', 'autoInvalData', 'keepListings', 'writeback', 'noOpen',
  'noOpendir', 'noReaddir', 'readdirplus', 'sealSize', 'xattr', 'killprivV2', 'useHostIno', 'allowDirectIo', 'useMmap',
  'maxMmapSize', 'uidmapping', 'gidmapping', 'passthrough', 'defaultPermissions',
  'fileHandles', 'fdBudget',
]);

function timeout(name: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new OptionError(`${name}: expected a number of seconds >= 0, got ${JSON.stringify(v)}`);
  }
  return v;
}

function bool(name: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new OptionError(`${name}: expected true or false, got ${JSON.stringify(v)}`);
  return v;
}

/** Validates and completes the options; throws OptionError naming the option at fault. */
export function resolvePassthroughOptions(o: PassthroughOptions): ResolvedOptions {
  if (o === null || typeof o !== 'object') throw new OptionError('options: expected an object with at least { source }');
  for (const k of Object.keys(o)) {
    if (!KNOWN.has(k as keyof PassthroughOptions)) throw new OptionError(`unknown option '${k}'`);
  }
  if (typeof o.source !== 'string' || o.source === '') throw new OptionError('source: expected the path of a directory');
  const warnings: string[] = [];
  const entryTimeout = timeout('entryTimeout', o.entryTimeout, 5);
  const attrTimeout = timeout('attrTimeout', o.attrTimeout, 5);
  let cache = o.cache ?? 'auto';
  if (cache === 'none') cache = 'never';
  if (!['never', 'metadata', 'auto', 'always'].includes(cache)) {
    throw new OptionError(`cache: expected never, metadata, auto or always, got ${JSON.stringify(o.cache)}`);
  }
  let writeback = bool('writeback', o.writeback, false);
  if (writeback && cache === 'never') {
    warnings.push('writeback conflicts with cache=never: writeback turned off');
    writeback = false;
  }
  const sealSize = bool('sealSize', o.sealSize, false);
  if (writeback && sealSize) {
    // The kernel would accept size changes into its cache and fail them only at writeback, where nobody sees the EPERM.
    warnings.push('writeback conflicts with seal_size: writeback turned off');
    writeback = false;
  }
  let noOpen = bool('noOpen', o.noOpen, false);
  if (noOpen && cache !== 'always') {
    warnings.push('no_open only works with cache=always: no_open turned off');
    noOpen = false;
  }
  // Without OPENDIR the kernel opens directories with FOPEN_CACHE_DIR: it
  // keeps listings and reuses them while the directory's mtime it holds is
  // unchanged, so a change on the host shows only once its attributes expire.
  let noOpendir = bool('noOpendir', o.noOpendir, false);
  if (noOpendir && cache !== 'metadata' && cache !== 'always') {
    warnings.push('no_opendir only works with cache=metadata or cache=always (the kernel then caches listings): no_opendir turned off');
    noOpendir = false;
  }
  const readdirplus = o.readdirplus ?? 'auto';
  if (!READDIRPLUS_POLICIES.includes(readdirplus)) {
    const last = READDIRPLUS_POLICIES.length - 1;
    const expected = `${READDIRPLUS_POLICIES.slice(0, last).join(', ')} or ${READDIRPLUS_POLICIES[last]}`;
    throw new OptionError(`readdirplus: expected ${expected}, got ${JSON.stringify(o.readdirplus)}`);
  }
  const maxMmapSize = o.maxMmapSize ?? 1 << 30;
  if (typeof maxMmapSize !== 'number' || !Number.isInteger(maxMmapSize) || maxMmapSize <= 0) {
    throw new OptionError(`maxMmapSize: expected a positive number of bytes, got ${JSON.stringify(o.maxMmapSize)}`);
  }
  const fdBudget = o.fdBudget ?? Number.MAX_SAFE_INTEGER;
  if (typeof fdBudget !== 'number' || !Number.isInteger(fdBudget) || fdBudget < 16) {
    throw new OptionError(`fdBudget: expected a whole number of fds >= 16, got ${JSON.stringify(o.fdBudget)}`);
  }
  return {
    source: o.source,
    entryTimeout,
    attrTimeout,
    dirEntryTimeout: timeout('dirEntryTimeout', o.dirEntryTimeout, entryTimeout),
    dirAttrTimeout: timeout('dirAttrTimeout', o.dirAttrTimeout, attrTimeout),
    negativeTimeout: timeout('negativeTimeout', o.negativeTimeout, 0),
    cache: cache as CachePolicy,
    autoInvalData: bool('autoInvalData', o.autoInvalData, true),
    keepListings: bool('keepListings', o.keepListings, true),
    writeback,
    noOpen,
    noOpendir,
    noReaddir: bool('noReaddir', o.noReaddir, false),
    readdirplus,
    sealSize,
    xattr: bool('xattr', o.xattr, true),
    killprivV2: bool('killprivV2', o.killprivV2, false),
    useHostIno: bool('useHostIno', o.useHostIno, false),
    allowDirectIo: bool('allowDirectIo', o.allowDirectIo, true),
    useMmap: bool('useMmap', o.useMmap, false),
    maxMmapSize,
    uidMap: IdMap.parse('uidmapping', o.uidmapping),
    gidMap: IdMap.parse('gidmapping', o.gidmapping),
    passthrough: bool('passthrough', o.passthrough, true),
    defaultPermissions: bool('defaultPermissions', o.defaultPermissions, false),
    fileHandles: bool('fileHandles', o.fileHandles, true),
    fdBudget,
    warnings,
  };
}
