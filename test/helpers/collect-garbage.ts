// A full garbage collection from inside a jest worker, so that exact native-byte checks are not
// disturbed by finalizers of garbage left behind by earlier test files sharing the worker process
// (finalizers run at GC time, and a GC may otherwise start in the middle of a measured stretch).
import * as v8 from 'v8';
import * as vm from 'vm';

let gcFn: (() => void) | undefined = (global as { gc?: () => void }).gc;

function gcFunction(): () => void {
  if (!gcFn) {
    v8.setFlagsFromString('--expose-gc');
    gcFn = vm.runInNewContext('gc') as () => void;
  }
  return gcFn;
}

/** Collects garbage until native finalizers have run: GC, let deferred finalizers run, GC again. */
export async function collectGarbage(): Promise<void> {
  const gc = gcFunction();
  for (let round = 0; round < 2; round++) {
    gc();
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  }
  gc();
}
