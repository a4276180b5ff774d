// The device the suite runs on: 'cuda' when FSNN_DEVICE=cuda (npm run test:gpu, npm run
// test:cuda-emu; test/setup/device.ts makes it the default device), else 'cpu'.
export const testDevice: 'cpu' | 'cuda' = process.env.FSNN_DEVICE === 'cuda' ? 'cuda' : 'cpu';
