// Typed-array checks that hold across JavaScript realms (arrays made by the native addon, by a
// worker or inside a test sandbox are not `instanceof` the local constructor).
const tag = (x: unknown): string => Object.prototype.toString.call(x);

export const isFloat32Array = (x: unknown): x is Float32Array => tag(x) === '[object Float32Array]';
export const isInt32Array = (x: unknown): x is Int32Array => tag(x) === '[object Int32Array]';
export const isFloat64Array = (x: unknown): x is Float64Array => tag(x) === '[object Float64Array]';
export const isUint8Array = (x: unknown): x is Uint8Array => tag(x) === '[object Uint8Array]' || (typeof Buffer !== 'undefined' && Buffer.isBuffer(x));
