/**
 * What a command must undo if it is interrupted (Ctrl-C, a CI runner's SIGTERM): temporary copies
 * beside their targets, the repository lock. Each is registered while it exists; on SIGINT or
 * SIGTERM every registered step runs (synchronously, so nothing is left half done by the exit)
 * and the process exits with the signal's code. The handlers are installed only while some step
 * is registered, so a process with nothing to undo keeps its own (or Node's) signal handling.
 * A SIGKILL cannot be caught: a stale lock is then taken over by the next command, and a `.tmp`
 * file beside a target is harmless litter.
 */

type Step = () => void;

const steps = new Set<Step>();
const SIGNALS = [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const;
const handlers = SIGNALS.map(([signal, code]) => [signal, () => interrupted(code)] as const);

function interrupted(code: number): void {
  for (const step of [...steps].reverse()) {
    try {
      step();
    } catch {
      // best effort: the next step still runs
    }
  }
  steps.clear();
  process.exit(code);
}

/** Registers a synchronous undo step; returns the function that unregisters it once no longer needed. */
export function onInterrupt(step: Step): () => void {
  if (steps.size === 0) for (const [signal, handler] of handlers) process.on(signal, handler);
  steps.add(step);
  return () => {
    if (!steps.delete(step)) return;
    if (steps.size === 0) for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}
