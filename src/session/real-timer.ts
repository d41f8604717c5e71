// A timer that waits at least its time. Node's timers count from the event
// loop's clock, which libuv reads at times of its own (once per turn of the
// loop, in whole milliseconds): a timer set after a stretch of synchronous
// work, as the session thread's, may fire early: about one of the
// session's 1 ms naps in five ran out after 0.02-0.33 ms, measured.

/** Calls `f` once `ms` have passed by the real clock; returns a canceller. */
export function afterMs(ms: number, f: () => void): () => void {
  const end = performance.now() + ms;
  let t: NodeJS.Timeout;
  const check = (): void => {
    const left = end - performance.now();
    if (left > 0) t = setTimeout(check, left);
    else f();
  };
  t = setTimeout(check, ms);
  return () => clearTimeout(t);
}
