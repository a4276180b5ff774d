// Gloo lives in a plugin (fsnn_gloo.so) that the addon opens on first use, so the addon itself never
// needs libgloo: it loads, and everything but the 'gloo' backend works, on machines without it.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { distributed as dist } from '../../lib';
import { nativeAddonFile } from '../../lib/native';
import { ROOT } from './helpers';

const addon = nativeAddonFile.file;
const readelf = spawnSync('readelf', ['-d', addon], { encoding: 'utf8' });

describe('the Gloo plugin', () => {
  (readelf.status === 0 ? test : test.skip)('the addon does not link libgloo (nor anything of Gloo)', () => {
    const needed = readelf.stdout.split('\n').filter((l) => l.includes('(NEEDED)'));
    expect(needed.length).toBeGreaterThan(0);
    expect(needed.join('\n')).not.toMatch(/gloo|hiredis|ibverbs/);
  });

  test('the build reports whether it has Gloo, and the plugin sits next to the addon', () => {
    const s = dist.backendStatus();
    if (s.glooBuilt) expect(fs.existsSync(path.join(path.dirname(addon), 'fsnn_gloo.so'))).toBe(true);
    expect(typeof s.gloo).toBe('string');
  });

  test('a missing plugin (as on a machine without libgloo) is a clear error, and the addon works otherwise', () => {
    const script = `
      const { distributed: dist, tensor } = require('./lib');
      const sum = tensor([1, 2, 3], [3]).sum().item();
      let message = '';
      try { dist.initProcessGroup({ backend: 'gloo', rank: 0, worldSize: 1, initMethod: 'file:///tmp/unused' }); } catch (e) { message = e.message; }
      process.stdout.write(JSON.stringify({ sum, message }));`;
    const r = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], {
      cwd: ROOT, encoding: 'utf8', env: { ...process.env, FSNN_GLOO_PLUGIN: '/nonexistent/fsnn_gloo.so' }, timeout: 120000,
    });
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { sum: number; message: string };
    expect(out.sum).toBe(6);
    expect(out.message).toMatch(/backend 'gloo': FSNN_GLOO_PLUGIN=\/nonexistent\/fsnn_gloo.so does not exist/);
  });

  test('file:// init (Gloo FileStore) with one rank', () => {
    const folder = fs.mkdtempSync(path.join(require('os').tmpdir(), 'fsnn-filestore-'));
    try {
      dist.initProcessGroup({ backend: 'gloo', rank: 0, worldSize: 1, initMethod: `file://${folder}` });
      const { tensor } = require('../../lib') as typeof import('../../lib');
      const { native } = require('../../lib/native') as typeof import('../../lib/native');
      const t = tensor([1, 2], [2], { device: 'cpu' });
      const v0 = native.storageVersions([t.handle])[0];
      dist.allReduce(t, 'avg');
      expect(Array.from(t.toFloat32Array())).toEqual([1, 2]);
      // a collective writes its tensor in place: the storage version moves, as for copy_ (an InferenceRunner
      // or SNNWrapper that captured the values sees the write)
      const v1 = native.storageVersions([t.handle])[0];
      expect(v1).toBeGreaterThan(v0);
      dist.broadcast(t, 0);
      expect(native.storageVersions([t.handle])[0]).toBeGreaterThan(v1);
      expect(dist.getWorldSize()).toBe(1);
    } finally {
      dist.destroyProcessGroup();
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });
});
