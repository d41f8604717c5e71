// Starts a worker thread from one of this package's modules, whether it runs
// from dist/ (JavaScript) or from its TypeScript sources (the tests).

import { Worker } from 'node:worker_threads';
import type { WorkerOptions } from 'node:worker_threads';

/**
 * The module `path` (relative, without extension) next to the caller's
 * module `callerUrl`, with the caller's extension: `.ts` when running from
 * the sources, `.js` from dist/.
 */
export function sibling(callerUrl: string, path: string): URL {
  return new URL(path + (callerUrl.endsWith('.ts') ? '.ts' : '.js'), callerUrl);
}

/** `url`: the worker's module, a sibling `.js` or `.ts` file of the caller's (see `sibling`). */
export function startWorker(url: URL, options: WorkerOptions): Worker {
  if (!url.pathname.endsWith('.ts')) return new Worker(url, options);
  // Node 20 does not apply --import hooks to workers: the thread registers tsx itself.
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(boot, { ...options, eval: true });
}
