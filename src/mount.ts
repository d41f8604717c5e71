// The library's entry point for serving a filesystem: mount the kernel side,
// start the session thread with the filesystem module, hand back a handle.

import { Worker } from 'node:worker_threads';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { mountKernel, unmountKernel, MountError } from './session/mount.js';
import type { KernelMountOptions, UnmountOptions } from './session/mount.js';
import type { SessionLimits } from './session/connection.js';
import type { WorkerInput, WorkerMessage } from './session/worker.js';
import { sibling, startWorker } from './session/start-worker.js';
import * as sys from './sys/index.js';

/**
 * Where the session thread finds the filesystem: a module (path or URL) and
 * the name of an export that is either a class (constructed with `args`) or a
 * factory function (called with `args`, may be async). `args` must be
 * structured-cloneable: they cross to the session thread.
 */
export interface FilesystemSource {
  module: string | URL;
  exportName?: string;
  args?: unknown[];
}

export interface MountOptions extends KernelMountOptions, SessionLimits {
  /** One log line per request and reply, on stderr. */
  debug?: boolean;
  /** See SessionOptions.spinUs. */
  spinUs?: number;
  /** See SessionOptions.spliceRead. */
  spliceRead?: boolean;
  /** See SessionOptions.ring. */
  ring?: boolean | 'always';
}

export interface MountHandle {
  readonly mountpoint: string;
  /** Protocol minor and INIT capabilities agreed with the kernel. */
  readonly minor: number;
  readonly agreed: readonly string[];
  readonly maxWrite: number;
  /** Settles when the session ends (after unmount); rejects if it failed. */
  readonly closed: Promise<void>;
  /** Unmounts and waits for the session to end. */
  unmount(options?: UnmountOptions): Promise<void>;
}

const here = import.meta.url;

/**
 * The session thread allocates little that lives long (the passthrough's
 * inode table is typed arrays): a small young generation keeps its RSS down
 * (measured: bench/rss.ts) at no measurable cost per request.
 */
const SESSION_LIMITS = { maxYoungGenerationSizeMb: 8 };

function startSession(input: WorkerInput): Worker {
  return startWorker(sibling(here, './session/worker'), { workerData: input, resourceLimits: SESSION_LIMITS });
}

function moduleUrl(m: string | URL): string {
  if (m instanceof URL) return m.href;
  if (/^[a-z][a-z0-9+.-]*:/i.test(m)) return m;
  return pathToFileURL(m).href;
}

/** Mounts `source`'s filesystem on `mountpoint`; resolves once INIT is answered (the mount is live). */
export async function mount(mountpoint: string, source: FilesystemSource, options: MountOptions = {}): Promise<MountHandle> {
  const km = mountKernel(mountpoint, options);
  const input: WorkerInput = {
    fd: km.fd,
    fdClosing: new Int32Array(new SharedArrayBuffer(4)),
    module: moduleUrl(source.module),
    exportName: source.exportName ?? 'default',
    args: source.args ?? [],
    session: {
      debug: options.debug, maxWrite: options.maxWrite, maxReadahead: options.maxReadahead, spinUs: options.spinUs, spliceRead: options.spliceRead, ring: options.ring,
      othersMayAccess: !!options.allowOther,
      denyOthersThan: km.denyOthers ? process.getuid!() : undefined,
    },
  };
  const worker = startSession(input);
  let failure: Error | undefined;
  let resolveClosed!: () => void;
  let rejectClosed!: (e: Error) => void;
  const closed = new Promise<void>((res, rej) => {
    resolveClosed = res;
    rejectClosed = rej;
  });
  closed.catch(() => {});
  const initInfo = await new Promise<{ minor: number; agreed: string[]; maxWrite: number }>((resolve, reject) => {
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'init') resolve(m);
      else if (m.type === 'error') {
        failure = new Error(`filesystem session failed: ${m.message}`);
        reject(failure);
      }
    });
    worker.on('error', (e) => {
      failure = e;
      reject(e);
    });
    worker.on('exit', (code) => {
      // The thread ended without closing the device (an exception outside
      // its handlers, say): closing it here ends the connection, so that
      // clients get ENOTCONN instead of waiting for replies forever.
      if (Atomics.load(input.fdClosing, 0) === 0) {
        sys.close(km.fd);
        failure ??= new Error(`session thread ended (exit code ${code}) without ending its session`);
      }
      if (failure) rejectClosed(failure);
      else if (code !== 0) rejectClosed(new Error(`session thread exited with code ${code}`));
      else resolveClosed();
      reject(failure ?? new Error('session ended before INIT'));
    });
  }).catch((e: Error) => {
    try {
      unmountKernel(km.mountpoint, { lazy: true });
    } catch {
      /* already gone */
    }
    throw e;
  });
  return {
    mountpoint: km.mountpoint,
    minor: initInfo.minor,
    agreed: initInfo.agreed,
    maxWrite: initInfo.maxWrite,
    closed,
    async unmount(o?: UnmountOptions): Promise<void> {
      unmountKernel(km.mountpoint, o);
      await closed;
    },
  };
}

export { MountError, unmountKernel as unmount };
export type { UnmountOptions };
export const builtinModule = (name: string): string => fileURLToPath(sibling(here, `./fs/${name}`));
