// initProcessGroup's view of the environment: fsnn launch / torchrun variables, then mpirun's and srun's.
import { resolveInit } from '../../lib/distributed/env';

const base = { MASTER_ADDR: '127.0.0.1', MASTER_PORT: '29511' };

describe('resolveInit', () => {
  test('env:// reads RANK, WORLD_SIZE, LOCAL_RANK and MASTER_*', () => {
    const r = resolveInit({}, { ...base, RANK: '3', WORLD_SIZE: '4', LOCAL_RANK: '1' });
    expect(r).toMatchObject({ backend: 'gloo', rank: 3, worldSize: 4, localRank: 1, masterAddr: '127.0.0.1', masterPort: 29511, hostname: '127.0.0.1', timeoutMs: 60000 });
  });
  test('Open MPI (mpirun) variables', () => {
    const r = resolveInit({ backend: 'nccl' }, { ...base, OMPI_COMM_WORLD_RANK: '5', OMPI_COMM_WORLD_SIZE: '8', OMPI_COMM_WORLD_LOCAL_RANK: '1' });
    expect(r).toMatchObject({ backend: 'nccl', rank: 5, worldSize: 8, localRank: 1 });
  });
  test('MPICH / Intel MPI (PMI) and Slurm (srun) variables', () => {
    expect(resolveInit({}, { ...base, PMI_RANK: '2', PMI_SIZE: '3', MPI_LOCALRANKID: '0' })).toMatchObject({ rank: 2, worldSize: 3, localRank: 0 });
    expect(resolveInit({}, { ...base, SLURM_PROCID: '7', SLURM_NTASKS: '16', SLURM_LOCALID: '3' })).toMatchObject({ rank: 7, worldSize: 16, localRank: 3 });
  });
  test('RANK wins over the launcher variables; options win over both', () => {
    expect(resolveInit({}, { ...base, RANK: '1', WORLD_SIZE: '2', SLURM_PROCID: '9', SLURM_NTASKS: '16' })).toMatchObject({ rank: 1, worldSize: 2 });
    expect(resolveInit({ rank: 0, worldSize: 1 }, { ...base, RANK: '1', WORLD_SIZE: '2' })).toMatchObject({ rank: 0, worldSize: 1 });
  });
  test('tcp:// and file:// init methods; a remote master makes Gloo listen on the host name', () => {
    expect(resolveInit({ initMethod: 'tcp://10.0.0.7:23456', rank: 0, worldSize: 2 }, {})).toMatchObject({ masterAddr: '10.0.0.7', masterPort: 23456 });
    expect(resolveInit({ initMethod: 'file:///shared/run1', rank: 1, worldSize: 2 }, {})).toMatchObject({ filePath: '/shared/run1' });
    expect(resolveInit({ rank: 0, worldSize: 2 }, { MASTER_ADDR: 'node001', MASTER_PORT: '1' }).hostname).not.toBe('127.0.0.1');
    expect(resolveInit({ rank: 0, worldSize: 2 }, { ...base, GLOO_SOCKET_IFNAME: 'eth1', FSNN_DIST_TIMEOUT_MS: '5000' })).toMatchObject({ iface: 'eth1', timeoutMs: 5000 });
  });
  test('missing or bad values are errors naming the variable', () => {
    expect(() => resolveInit({}, { ...base, WORLD_SIZE: '2' })).toThrow(/rank is not set.*RANK/);
    expect(() => resolveInit({}, { ...base, RANK: '0' })).toThrow(/world size is not set.*WORLD_SIZE/);
    expect(() => resolveInit({}, { MASTER_PORT: '1', RANK: '0', WORLD_SIZE: '1' })).toThrow(/MASTER_ADDR is not set/);
    expect(() => resolveInit({}, { MASTER_ADDR: 'x', RANK: '0', WORLD_SIZE: '1' })).toThrow(/MASTER_PORT is not set/);
    expect(() => resolveInit({}, { ...base, RANK: '2', WORLD_SIZE: '2' })).toThrow(/rank 2 is outside 0..1/);
    expect(() => resolveInit({}, { ...base, RANK: 'a', WORLD_SIZE: '2' })).toThrow(/rank \(RANK\) must be an integer/);
    expect(() => resolveInit({ backend: 'mpi' as never }, { ...base, RANK: '0', WORLD_SIZE: '1' })).toThrow(/unknown backend 'mpi'/);
    expect(() => resolveInit({ initMethod: 'redis://x' }, { ...base, RANK: '0', WORLD_SIZE: '1' })).toThrow(/unknown initMethod/);
  });
});
