// One timer for the successive deadlines of one upstream attempt and the answer it commits (docs/contract.md
// §7): its headers, its first byte, then each wait on its body. A timer costs the runtime more than anything
// else a request does per deadline, so this one is armed once and re-armed only when it fires before the
// deadline now in force; moving a deadline later, or clearing it, sets no timer. A request that ends before
// its first deadline sets one timer in all.

export interface Deadline {
  /** From now, `ms` until `onExpire` runs, replacing the deadline in force. */
  arm(ms: number, onExpire: () => void): void;
  /** No deadline in force (the timer, if running, finds nothing to do). */
  disarm(): void;
  /** Done with it: the timer is cleared. */
  stop(): void;
}

export function createDeadline(now: () => number = Date.now): Deadline {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let firesAtMs = 0;
  let dueAtMs = 0;
  let onExpire: (() => void) | null = null;
  const schedule = (ms: number) => {
    firesAtMs = now() + ms;
    timer = setTimeout(fire, ms);
  };
  function fire(): void {
    timer = null;
    if (onExpire === null) return;
    const leftMs = dueAtMs - now();
    if (leftMs > 0) {
      schedule(leftMs);
      return;
    }
    const run = onExpire;
    onExpire = null;
    run();
  }
  return {
    arm(ms, expire) {
      dueAtMs = now() + ms;
      onExpire = expire;
      if (timer !== null && firesAtMs <= dueAtMs) return;
      if (timer !== null) clearTimeout(timer);
      schedule(ms);
    },
    disarm() {
      onExpire = null;
    },
    stop() {
      onExpire = null;
      if (timer !== null) clearTimeout(timer);
      timer = null;
    },
  };
}
