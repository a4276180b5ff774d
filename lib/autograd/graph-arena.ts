// The tensors a tidy() scope created that a returned tensor's graph may still need. When fn returns
// a tensor whose graph backward() has not consumed, tidy cannot tell which of its tensors the
// backward rules saved, so it hands all of them to an arena owned by the returned tensors' grad
// nodes instead of disposing them (PyTorch semantics: the graph lives as long as its output).
// The arena frees them once every returned root has let go: backward() through the root without
// retainGraph, root.dispose(), or garbage collection of the root (native memory is reclaimed by GC).
import type { Tensor } from '../tensor';

export class GraphArena {
  private holders: number;

  constructor(private tensors: Tensor[], roots: number) {
    this.holders = roots;
  }

  /** One root has let go; the last one frees the tensors. */
  release(): void {
    if (this.holders <= 0) return;
    this.holders--;
    if (this.holders === 0) {
      const ts = this.tensors;
      this.tensors = [];
      for (const t of ts) t.dispose();
    }
  }

  get size(): number {
    return this.tensors.length;
  }
}
