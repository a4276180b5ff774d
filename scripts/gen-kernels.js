#!/usr/bin/env node
// Generates the TypeScript side of the kernel table from native/kernels.def (npm run gen:kernels):
//   lib/kernel-names.ts   the kernel names, their input names and kinds, the enumerations' values
//   types/native.d.ts     the part between the "generated kernels" markers: the enum unions, one attrs
//                         interface per kernel and the Kernels map that types native.runKernel
// `--check` writes nothing and exits 1 when a checked-in file differs from a fresh generation
// (test/native/kernel-names.test.ts runs it).
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const DEF = path.join(root, 'native', 'kernels.def');
const NAMES_TS = path.join(root, 'lib', 'kernel-names.ts');
const DTS = path.join(root, 'types', 'native.d.ts');
const BEGIN = '// ---- generated kernels (scripts/gen-kernels.js from native/kernels.def; do not edit by hand) ----';
const END = '// ---- end of generated kernels ----';

/** The declarations of kernels.def: enumerations and kernels, in file order. */
function parseDef(text) {
  const enums = new Map(); // name -> [js values]
  const kernels = [];
  let current = null;
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.replace(/\/\/.*$/, '').trim();
    if (!line.startsWith('FSNN_') || line.startsWith('#')) return;
    const m = /^(FSNN_[A-Z_]+)\((.*)\)$/.exec(line);
    if (!m) throw new Error(`kernels.def:${i + 1}: cannot read '${raw.trim()}'`);
    const [, macro, argText] = m;
    const args = argText.split(',').map((s) => s.trim());
    const where = `kernels.def:${i + 1}`;
    switch (macro) {
      case 'FSNN_ENUM':
      case 'FSNN_NAMES':
        enums.set(args[0], []);
        break;
      case 'FSNN_ENUM_VALUE':
      case 'FSNN_NAME':
        enums.get(args[0]).push(args[2]);
        break;
      case 'FSNN_ENUM_END':
      case 'FSNN_NAMES_END':
      case 'FSNN_DEVICE_OP':
      case 'FSNN_DEVICE_OP_CPU_ONLY':
        break;
      case 'FSNN_KERNEL':
        if (current) throw new Error(`${where}: kernel ${args[0]} starts before ${current.name} ended`);
        current = { name: args[0], outputs: Number(args[1]), kind: args[2], inputs: [], attrs: [] };
        if (![0, 1, 2].includes(current.outputs)) throw new Error(`${where}: outputs must be 0, 1 or 2`);
        if (!['pure', 'inplace', 'random'].includes(current.kind)) throw new Error(`${where}: kind must be pure, inplace or random`);
        break;
      case 'FSNN_INPUT':
      case 'FSNN_INPUT_OPT':
      case 'FSNN_INPUT_LIST':
        check(current, args[0], where);
        current.inputs.push({ name: args[1], kind: macro === 'FSNN_INPUT' ? 'tensor' : macro === 'FSNN_INPUT_OPT' ? 'optional' : 'list' });
        break;
      case 'FSNN_ATTR':
      case 'FSNN_ATTR_REQ':
        check(current, args[0], where);
        current.attrs.push({ name: args[1], type: args[2], required: macro === 'FSNN_ATTR_REQ' });
        break;
      case 'FSNN_KERNEL_END':
        check(current, args[0], where);
        kernels.push(current);
        current = null;
        break;
      default:
        throw new Error(`${where}: unknown declaration ${macro}`);
    }
  });
  if (current) throw new Error(`kernels.def: kernel ${current.name} has no FSNN_KERNEL_END`);
  return { enums, kernels };
}

function check(current, name, where) {
  if (!current || current.name !== name) throw new Error(`${where}: '${name}' is outside its FSNN_KERNEL(${name}) ... FSNN_KERNEL_END(${name}) block`);
}

const SCALARS = { f32: 'number', f64: 'number', i64: 'number', boolean: 'boolean', shape: 'number[]', i32s: 'Int32Array', f64s: 'Float64Array' };
function tsType(type, enums) {
  if (SCALARS[type]) return SCALARS[type];
  if (enums.has(type)) return type;
  throw new Error(`kernels.def: attribute type '${type}' is unknown (use ${Object.keys(SCALARS).join(', ')} or an enumeration)`);
}
const cap = (s) => s[0].toUpperCase() + s.slice(1);

function dtsPart({ enums, kernels }) {
  const out = [BEGIN];
  for (const [name, values] of enums) out.push(`export type ${name} = ${values.map((v) => `'${v}'`).join(' | ')};`);
  out.push('');
  for (const k of kernels) {
    const fields = k.attrs.map((a) => `${a.name}${a.required ? '' : '?'}: ${tsType(a.type, enums)}`);
    out.push(`export interface ${cap(k.name)}Attrs { ${fields.join('; ')}${fields.length ? ' ' : ''}}`);
  }
  out.push('');
  out.push('/** Per kernel: its inputs (tensor handles; null for an absent optional input), attributes and result. */');
  out.push('export interface Kernels {');
  for (const k of kernels) {
    const list = k.inputs.find((i) => i.kind === 'list');
    const inputs = list
      ? 'NativeHandle[]'
      : `[${k.inputs.map((i) => `${i.name}: NativeHandle${i.kind === 'optional' ? ' | null' : ''}`).join(', ')}]`;
    const output = k.outputs === 0 ? 'void' : k.outputs === 1 ? 'NativeHandle' : '[NativeHandle, NativeHandle]';
    out.push(`  ${k.name}: { inputs: ${inputs}; attrs: ${cap(k.name)}Attrs; output: ${output} };`);
  }
  out.push('}');
  out.push('export type KernelName = keyof Kernels;');
  out.push(END);
  return out.join('\n');
}

function namesTs({ enums, kernels }) {
  const q = (xs) => `[${xs.map((x) => `'${x}'`).join(', ')}]`;
  const lines = [
    '// Generated by scripts/gen-kernels.js from native/kernels.def (npm run gen:kernels); do not edit by hand.',
    '// The kernel table as data: names, input names, kinds, and the values of each enumeration.',
    "import type { KernelName } from '../types/native';",
    "export type { KernelName, Kernels } from '../types/native';",
    '',
    '/** The values of each enumeration attribute (as their C++ enums in native/kernels.def). */',
    'export const KERNEL_ENUMS = {',
    ...[...enums].map(([name, values]) => `  ${name}: ${q(values)},`),
    '} as const;',
    '',
    '/** Every kernel, in declaration order. */',
    `export const KERNEL_NAMES: readonly KernelName[] = ${q(kernels.map((k) => k.name))};`,
    '',
    "/** How a kernel writes: 'pure' (new outputs), 'inplace' (its first input), 'random' (cannot be replayed). */",
    "export const KERNEL_KINDS: { readonly [N in KernelName]: 'pure' | 'inplace' | 'random' } = {",
    ...kernels.map((k) => `  ${k.name}: '${k.kind}',`),
    '};',
    '',
    "/** The names of each kernel's inputs (a trailing '...' marks a list input that takes all the remaining tensors, '?' an optional one). */",
    'export const KERNEL_INPUTS: { readonly [N in KernelName]: readonly string[] } = {',
    ...kernels.map((k) => `  ${k.name}: ${q(k.inputs.map((i) => (i.kind === 'list' ? `${i.name}...` : i.kind === 'optional' ? `${i.name}?` : i.name)))},`),
    '};',
    '',
  ];
  return lines.join('\n');
}

/** The generated files' contents: { path: text }. */
function generate() {
  const def = parseDef(fs.readFileSync(DEF, 'utf8'));
  const dts = fs.readFileSync(DTS, 'utf8');
  const a = dts.indexOf(BEGIN), b = dts.indexOf(END);
  if (a < 0 || b < a) throw new Error(`types/native.d.ts: the generated-kernels markers are missing:\n${BEGIN}\n${END}`);
  return {
    [NAMES_TS]: namesTs(def),
    [DTS]: dts.slice(0, a) + dtsPart(def) + dts.slice(b + END.length),
  };
}

module.exports = { parseDef, generate };

if (require.main === module) {
  const files = generate();
  const checkOnly = process.argv.includes('--check');
  let stale = 0;
  for (const [file, text] of Object.entries(files)) {
    const now = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    if (now === text) continue;
    stale++;
    if (checkOnly) console.error(`${path.relative(root, file)} is out of date with native/kernels.def; run npm run gen:kernels`);
    else fs.writeFileSync(file, text);
  }
  if (checkOnly && stale) process.exit(1);
  if (!checkOnly) console.log(`gen-kernels: ${stale} file(s) written`);
}
