// Starts a worker thread from one of this package's modules, whether it runs
// from dist/ (JavaScript) or from its TypeScript sources (the tests).

import { Worker } from 'node:worker_threads';
import type { WorkerOptions } from 'node:worker_threads';

/** `url`: the worker's module, a sibling `.js` or `.ts` file of the caller's. */
export function startWorker(url: URL, options: WorkerOptions): Worker {
  if (!url.pathname.endsWith('.ts')) return new Worker(url, options);
  // Node 20 does not apply --import hooks to workers: the thread registers tsx itself.
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(boot, { ...options, eval: true });
}
