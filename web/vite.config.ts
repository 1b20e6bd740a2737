import { defineConfig } from 'vitest/config';

// The build lands in the Maven module's classes, so the jar carries the UI as classpath resources under
// picotunnel-ui/, which the server serves at "/". JSX is compiled by esbuild (no React plugin needed).
export default defineConfig({
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: 'target/classes/picotunnel-ui',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
  },
  server: {
    proxy: {
      '/api': 'http://localhost:8080',
      '/auth': 'http://localhost:8080',
      '/health': 'http://localhost:8080',
    },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    setupFiles: ['src/test/setup.ts'],
    // a loaded CI machine (the Java suites run beside) must not turn slow renders into failures
    testTimeout: 20_000,
    restoreMocks: true,
  },
});
