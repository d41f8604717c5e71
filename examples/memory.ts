// An in-memory filesystem (files, directories, symlinks, xattrs) in one line:
// tsfuse ships MemFs; this is how to mount it from a program.
//   node --import tsx examples/memory.ts /path/to/empty/dir
import { isMainThread } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { mount } from '../src/index.js';

if (isMainThread && process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // The filesystem runs on the session thread: name its module and export.
  const handle = await mount(process.argv[2]!, {
    module: new URL('../src/fs/memfs.js', import.meta.url),
    exportName: 'MemFs',
    args: [{ timeout: 1 }],
  });
  console.log(`in-memory filesystem on ${handle.mountpoint}; Ctrl-C to unmount (its contents go with it)`);
  process.on('SIGINT', () => void handle.unmount());
  await handle.closed;
}
