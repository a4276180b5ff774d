// fsnn.ops: every op as a function.
import './methods';
export * from './elementwise';
export * from './reduce';
export * from './linalg';
export * from './layout';
export * from './nn';
