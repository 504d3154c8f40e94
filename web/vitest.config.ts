// Unit tests of the front-end logic (no browser): widget/**/*.test.ts.
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['widget/**/*.test.ts', 'console/**/*.test.ts'],
    environment: 'node',
  },
})
