// Giving memory back on demand. V8 frees the memory of dropped ArrayBuffers
// (the passthrough's inode table chunks) only when it collects garbage, and
// nothing makes it collect because memory was dropped: after the kernel
// forgets a million inodes the RSS would stay where it was. A filesystem's
// idle() can ask for a full collection here, then call sys.mallocTrim once the
// collector's frees have run.

import v8 from 'node:v8';
import vm from 'node:vm';

let gc: (() => void) | null | undefined;

/** Runs a full garbage collection now. False if this V8 cannot be asked to. */
export function collectGarbage(): boolean {
  if (gc === undefined) {
    try {
      // Exposes gc() to contexts created from now on (process-wide flag, no other effect).
      v8.setFlagsFromString('--expose-gc');
      gc = vm.runInNewContext('gc') as () => void;
    } catch {
      gc = null;
    }
  }
  if (typeof gc !== 'function') return false;
  gc();
  return true;
}
