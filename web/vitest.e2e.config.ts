// Browser end-to-end tests: headless Debian Chromium driven by playwright-core
// against a real kefu server each test file starts (see e2e/harness.ts).
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['e2e/**/*.e2e.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: one browser and one server at a time.
    fileParallelism: false,
    pool: 'forks',
  },
})
