// The helper thread of src/node/matmulPool.ts when the tests run it from its TypeScript source
// (a worker's entry is not compiled by tsx): register tsx, then load the module, which serves.
require('tsx/cjs');
require('../../../src/node/matmulPool.ts');
