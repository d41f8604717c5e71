// Two ways to change what the passthrough does without touching the engine:
//  - ReadOnlyPassthrough subclasses PassthroughFs and refuses every change
//    with EROFS (a read-only view of a directory that stays writable on the host);
//  - LoggingPassthrough wraps every operation and logs it with its result and
//    duration, like the reference's logging layer.
//   node --import tsx examples/readonly-logging.ts <source> <mountpoint> [--log]
import { isMainThread } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { writeSync } from 'node:fs';
import { mount, PassthroughFs, FuseError, Errno, errnoName } from '../src/index.js';
import type { FileTruncate, OpenReply, PassthroughOptions, RequestContext } from '../src/index.js';
import type { OpenIn } from '../src/protocol/requests.js';

const O_ACCMODE = 3;
const O_TRUNC = 0o1000;
const erofs = (): never => {
  throw new FuseError(Errno.EROFS);
};

export class ReadOnlyPassthrough extends PassthroughFs {
  override open(ctx: RequestContext, ino: bigint, a: OpenIn): OpenReply | FileTruncate<OpenReply> {
    if ((a.flags & O_ACCMODE) !== 0 || a.flags & O_TRUNC) erofs();
    return super.open(ctx, ino, a);
  }
  override setattr = erofs;
  override mknod = erofs;
  override mkdir = erofs;
  override symlink = erofs;
  override unlink = erofs;
  override rmdir = erofs;
  override rename = erofs;
  override link = erofs;
  override create = erofs;
  override tmpfile = erofs;
  override write = erofs;
  override fallocate = erofs;
  override copyFileRange = erofs;
  override setxattr = erofs;
  override removexattr = erofs;
}

/** Wraps every method of a filesystem object to log calls; returns the same object. */
export function withLogging<T extends object>(fs: T, log: (line: string) => void): T {
  const done = new Set<string>();
  for (let proto = Object.getPrototypeOf(fs); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      const f = (fs as Record<string, unknown>)[name];
      if (name === 'constructor' || typeof f !== 'function' || done.has(name)) continue;
      done.add(name);
      (fs as Record<string, unknown>)[name] = function (this: unknown, ...args: unknown[]) {
        const ctx = args[0] as RequestContext | undefined;
        const t0 = process.hrtime.bigint();
        const done = (what: string) => log(`${name} ino=${ctx?.nodeid ?? '-'} uid=${ctx?.uid ?? '-'} -> ${what} ${Number(process.hrtime.bigint() - t0) / 1000}us`);
        try {
          const r = (f as (...a: unknown[]) => unknown).apply(fs, args);
          // A failure may be returned rather than thrown (the passthrough's ENOENT, ENODATA).
          done(r instanceof FuseError ? errnoName(r.errno) : 'ok');
          return r;
        } catch (e) {
          done(errnoName((e as { errno?: number }).errno ?? 5));
          throw e;
        }
      };
    }
  }
  return fs;
}

export class LoggingPassthrough extends PassthroughFs {
  constructor(options: PassthroughOptions) {
    super(options);
    withLogging(this, (line) => writeSync(2, `[tsfuse] ${line}\n`));
  }
}

if (isMainThread && process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [source, mountpoint, flag] = process.argv.slice(2);
  const handle = await mount(mountpoint!, {
    module: import.meta.url,
    exportName: flag === '--log' ? 'LoggingPassthrough' : 'ReadOnlyPassthrough',
    args: [{ source }],
  });
  console.log(`${source} on ${handle.mountpoint} (${flag === '--log' ? 'logging' : 'read-only'}); Ctrl-C to unmount`);
  process.on('SIGINT', () => void handle.unmount());
  await handle.closed;
}
