// A save killed mid-write leaves its temporary file; the next save to the same target removes it.
// A read-only checkpoint (mode 0444) is not overwritten: the save fails with a clear error.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { save, tensor } from '../../lib';
import { readSafetensorsFile } from '../../lib/io/safetensors';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fsnn-durable-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The pid of a process that has exited (so a temp file named after it is stale). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

describe('save durability', () => {
  test('stale temp files of the same target are removed by the next save; others are kept', () => {
    const file = path.join(tmp, 'model.safetensors');
    const dead = deadPid();
    const stale = [`.model.safetensors.${dead}.abc123.tmp`, `.model.safetensors.${dead}.zz.tmp`];
    const keep = [`.model.safetensors.${process.ppid}.live.tmp`, `.other.safetensors.${dead}.x.tmp`, 'notes.tmp'];
    for (const n of [...stale, ...keep]) fs.writeFileSync(path.join(tmp, n), 'partial');
    save({ w: tensor([1, 2]) }, file);
    const left = fs.readdirSync(tmp);
    for (const n of stale) expect(left).not.toContain(n);
    for (const n of keep) expect(left).toContain(n);
    expect(Array.from(readSafetensorsFile(file).tensors.w.data)).toEqual([1, 2]);
  });

  test('a read-only (0444) checkpoint is not overwritten', () => {
    const file = path.join(tmp, 'frozen.safetensors');
    save({ w: tensor([1]) }, file);
    fs.chmodSync(file, 0o444);
    expect(() => save({ w: tensor([2]) }, file)).toThrow(/is read-only \(mode 0444\); the checkpoint was not overwritten.*chmod u\+w/);
    expect(Array.from(readSafetensorsFile(file).tensors.w.data)).toEqual([1]);
    expect(fs.readdirSync(tmp).filter((n) => n.startsWith('.frozen'))).toEqual([]);
  });
});
