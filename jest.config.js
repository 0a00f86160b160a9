/** Tests run on the embedded engine unless MONGODB_URI names a real server (see README). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': 'ts-jest',
  },
  testTimeout: 30000,
  // Test files run in worker processes, recycled once they hold more than this after a file: run in one process
  // (jest's choice on two cores), the servers and engines of ~80 files outgrow the default 4 GB heap.
  maxWorkers: 2,
  workerIdleMemoryLimit: '1GB',
};
