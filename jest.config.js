/** Unit specs sit beside the code; end-to-end specs against real services live in test/. */
const moduleNameMapper = {
  '^@airlock/(common|oci|signing|bundle|database|audit|promotion)$': '<rootDir>/libs/$1/src/index.ts',
  '^@airlock/common/config$': '<rootDir>/libs/common/src/config/index.ts',
  '^@airlock/promotion/bullmq$': '<rootDir>/libs/promotion/src/bullmq/index.ts',
  '^@airlock/promotion/run$': '<rootDir>/libs/promotion/src/run/index.ts',
  '^@airlock/bundle/warm$': '<rootDir>/libs/bundle/src/warm/index.ts',
};
const transform = {
  '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }],
};
module.exports = {
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  // testTimeout is a global option (per-project values are ignored); end-to-end tests start real services.
  testTimeout: 120000,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      moduleNameMapper,
      transform,
      testMatch: ['<rootDir>/libs/**/*.spec.ts', '<rootDir>/apps/**/*.spec.ts'],
    },
    { displayName: 'e2e', testEnvironment: 'node', moduleNameMapper, transform, testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'] },
  ],
};
