// The smallest useful filesystem: one read-only file, /hello.
//   node --import tsx examples/hello.ts /path/to/empty/dir
import { isMainThread } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { mount, FuseError, Errno } from '../src/index.js';
import type { AttrReply, DirBuffer, Entry, Filesystem, OpenReply, RequestContext } from '../src/index.js';
import type { OpenIn, ReadIn } from '../src/protocol/requests.js';

const CONTENT = Buffer.from('Hello from tsfuse!\n');
const HELLO = 2n;

export class HelloFs implements Filesystem {
  private attr(ino: bigint): AttrReply['attr'] {
    const now = BigInt(Date.now()) * 1_000_000n;
    const dir = ino === 1n;
    return {
      ino, mode: dir ? 0o40555 : 0o100444, nlink: dir ? 2 : 1, uid: 0, gid: 0, rdev: 0, blksize: 4096,
      size: BigInt(dir ? 0 : CONTENT.length), blocks: 1n, atimeNs: now, mtimeNs: now, ctimeNs: now,
    };
  }

  lookup(_ctx: RequestContext, parent: bigint, name: Buffer): Entry {
    if (parent !== 1n || name.toString() !== 'hello') throw new FuseError(Errno.ENOENT);
    return { nodeid: HELLO, entryTimeout: 60, attrTimeout: 60, attr: this.attr(HELLO) };
  }

  getattr(_ctx: RequestContext, ino: bigint): AttrReply {
    return { attr: this.attr(ino), attrTimeout: 60 };
  }

  open(_ctx: RequestContext, _ino: bigint, a: OpenIn): OpenReply {
    // Without default_permissions the kernel leaves permission checks to us.
    if ((a.flags & 3) !== 0) throw new FuseError(Errno.EACCES);
    return { fh: 0n };
  }

  read(_ctx: RequestContext, _ino: bigint, a: ReadIn): Buffer {
    return CONTENT.subarray(Number(a.offset), Number(a.offset) + a.size);
  }

  opendir(): OpenReply {
    return { fh: 0n };
  }

  readdir(_ctx: RequestContext, _ino: bigint, a: ReadIn, out: DirBuffer): void {
    const entries: [bigint, string, number][] = [[1n, '.', 4], [1n, '..', 4], [HELLO, 'hello', 8]];
    for (let i = Number(a.offset); i < entries.length; i++) {
      const [ino, name, type] = entries[i]!;
      if (!out.add(ino, Buffer.from(name), type, BigInt(i + 1))) break;
    }
  }
}

if (isMainThread && process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const handle = await mount(process.argv[2]!, { module: import.meta.url, exportName: 'HelloFs' });
  console.log(`mounted on ${handle.mountpoint}; Ctrl-C to unmount`);
  process.on('SIGINT', () => void handle.unmount());
  await handle.closed;
}
