// fsnn.nn: modules, layers and the functional ops.
export { Module } from './module';
export type { StateDict, StateDictInput } from './module';
export { Parameter, isParameter } from './parameter';
export { Sequential, Linear, Conv2d, MaxPool2d, AvgPool2d, Flatten, Identity, Dropout, BatchNorm1d, BatchNorm2d } from './layers';
export { LIFNeuron, IFNeuron, BaseNeuron } from '../snn/neurons';
export * as functional from './functional';
export * as utils from './utils';
