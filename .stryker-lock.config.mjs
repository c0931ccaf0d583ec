import base from './stryker.config.mjs';
export default { ...base, mutate: ['src/client/repository/lock.ts', 'src/client/repository/writer-lock.ts'], tap: { ...base.tap, testFiles: ['test/client/repository/lock.test.ts', 'test/client/chatd/repository.test.ts'] }, reporters: ['clear-text'], tempDirName: '.stryker-tmp-lock' };
