// native/loader.js: which .node file is loaded (FSNN_ADDON, build/, prebuilds/ in prebuildify's layout)
// and what a failure says. Every case runs in a child process, on a scratch package root.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '..');
const loader = path.join(root, 'native', 'loader.js');
// The addon this checkout uses (a build from source or a prebuild), found the same way lib/native.ts does.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const realAddon: string = require(loader).resolveAddon(root).file;

function load(pkgRoot: string, env: Record<string, string | undefined> = {}) {
  const code = `try { const r = require(${JSON.stringify(loader)}).loadAddon(${JSON.stringify(pkgRoot)});` +
    ` console.log(JSON.stringify({ file: r.file, how: r.how, ok: typeof r.addon.info === 'function' })); }` +
    ' catch (e) { console.log(JSON.stringify({ error: e.message, cause: e.cause ? String(e.cause.message) : null })); }';
  const childEnv = { ...process.env, ...env };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete childEnv[k];
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', env: childEnv });
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { file?: string; how?: string; ok?: boolean; error?: string; cause?: string };
}

function scratchRoot(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fsnn-loader-'));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'fractional-snn' }));
  return dir;
}

const tuple = `${process.platform}-${process.arch}`;
const noOverride = { FSNN_ADDON: undefined, PREBUILDS_ONLY: undefined };

describe('native/loader.js', () => {
  test('loads a prebuild from prebuilds/<platform>-<arch>/ when there is no build/ (a prebuild-only package)', () => {
    const dir = scratchRoot();
    fs.mkdirSync(path.join(dir, 'prebuilds', tuple), { recursive: true });
    const file = path.join(dir, 'prebuilds', tuple, 'node.napi.glibc.node');
    fs.copyFileSync(realAddon, file);
    const r = load(dir, noOverride);
    expect(r).toEqual({ file, how: 'prebuild', ok: true });
  });

  test('prefers a build from source in build/Release over the prebuild', () => {
    const dir = scratchRoot();
    fs.mkdirSync(path.join(dir, 'prebuilds', tuple), { recursive: true });
    fs.mkdirSync(path.join(dir, 'build', 'Release'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'prebuilds', tuple, 'node.napi.glibc.node'), 'not an addon');
    const file = path.join(dir, 'build', 'Release', 'fsnn.node');
    fs.copyFileSync(realAddon, file);
    expect(load(dir, noOverride)).toEqual({ file, how: 'build from source', ok: true });
  });

  test('a broken prebuild: the error names the file and the dynamic loader\'s real cause', () => {
    const dir = scratchRoot();
    fs.mkdirSync(path.join(dir, 'prebuilds', tuple), { recursive: true });
    const file = path.join(dir, 'prebuilds', tuple, 'node.napi.glibc.node');
    fs.writeFileSync(file, Buffer.alloc(100, 7)); // not an ELF file
    const r = load(dir, noOverride);
    expect(r.error).toContain(`could not load the native addon ${file} (prebuild)`);
    expect(r.error).toMatch(/invalid ELF header|file too short/);
    expect(r.cause).toMatch(/invalid ELF header|file too short/);
    expect(r.error).toContain('npm rebuild fractional-snn');
  });

  test('no addon at all: says what was looked for and how to build one', () => {
    const r = load(scratchRoot(), noOverride);
    expect(r.error).toMatch(new RegExp(`no native addon for ${tuple} in .*no build/Release/\\*\\.node and no matching prebuilds/${tuple}/\\*\\.node`));
    expect(r.error).toContain('No native build was found');
    expect(r.error).toContain('FSNN_CUDA=OFF');
  });

  test('FSNN_ADDON (absolute path to a .node file) is tried first, before build/ and prebuilds/', () => {
    const dir = scratchRoot();
    fs.mkdirSync(path.join(dir, 'build', 'Release'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'build', 'Release', 'fsnn.node'), 'not an addon');
    const file = path.join(dir, 'elsewhere.node');
    fs.copyFileSync(realAddon, file);
    expect(load(dir, { FSNN_ADDON: file })).toEqual({ file, how: 'FSNN_ADDON', ok: true });
  });

  test('FSNN_ADDON errors: a relative path is refused; a missing file is named with the cause', () => {
    expect(load(root, { FSNN_ADDON: 'build/Release/fsnn.node' }).error)
      .toMatch(/FSNN_ADDON must be an absolute path to a \.node file, got 'build\/Release\/fsnn\.node'/);
    const missing = path.join(os.tmpdir(), 'fsnn-no-such-addon.node');
    const r = load(root, { FSNN_ADDON: missing });
    expect(r.error).toContain(`could not load the native addon ${missing} (FSNN_ADDON)`);
    expect(r.error).toMatch(/cannot open shared object file|Cannot find module/);
    expect(r.error).toContain('Check the FSNN_ADDON path');
  });
});
