/** fsnn.data: datasets, splits, batching and input encoders (pure TypeScript, no native addon). */
export * from './mnist';
export * from './split';
export * from './loader';
export * from './encoders';
export * from './idx';
export * from './sampler';
