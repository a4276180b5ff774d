import * as data from '../../lib/data';

test('the data module re-exports the whole public API', () => {
  for (const name of [
    'loadMnist', 'mnistDigitsDir', 'MNIST_ROWS', 'MNIST_COLS', 'MNIST_PIXELS', 'MNIST_CLASSES',
    'stratifiedSplit', 'batches', 'numBatches', 'epochOrder', 'featuresOf', 'encode', 'poissonDraws',
    'parseIdx', 'readIdxFile', 'loadMnistDirectory', 'mnistFileCandidates', 'IDX_TYPES',
  ]) {
    expect((data as Record<string, unknown>)[name]).toBeDefined();
  }
});
