// nn.functional: losses and layer functions (the same ops as fsnn.ops).
export { crossEntropy, nllLoss, mseLoss, softmax, logSoftmax, linear, conv2d, maxPool2d, avgPool2d, batchNorm, dropout } from '../ops/nn';
export { relu, sigmoid, tanh } from '../ops/elementwise';
