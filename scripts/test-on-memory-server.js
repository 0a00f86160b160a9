#!/usr/bin/env node
/**
 * Runs the test suite on a real mongod from mongodb-memory-server (a one-member replica set, so transactions
 * work). It needs a machine where the mongod binary can be downloaded; elsewhere it stops with that reason.
 */
const { spawnSync } = require('node:child_process');
const { MongoMemoryReplSet } = require('mongodb-memory-server-core');

async function main() {
  let replSet;
  try {
    replSet = await MongoMemoryReplSet.create({ replSet: { count: 1, storageEngine: 'wiredTiger' } });
  } catch (error) {
    console.error(`Could not start mongod from mongodb-memory-server (it must download a binary): ${error.message}`);
    return 1;
  }
  try {
    const result = spawnSync(process.execPath, [require.resolve('jest/bin/jest'), '--runInBand', ...process.argv.slice(2)], {
      stdio: 'inherit',
      env: { ...process.env, MONGODB_URI: replSet.getUri() },
    });
    return result.status ?? 1;
  } finally {
    await replSet.stop();
  }
}

main().then((code) => process.exit(code));
