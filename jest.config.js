/** Jest runs the TypeScript tests directly through ts-jest (type-checking is done by `tsc` at build time). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  testTimeout: 120000,
  setupFilesAfterEnv: ['<rootDir>/test/setup/device.ts'],
};
