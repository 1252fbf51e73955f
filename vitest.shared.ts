import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { defineConfig } from 'vitest/config';

/**
 * One Vitest config for every package: sources are resolved through the
 * `@bijective/source` export condition (no build step inside the repo), and
 * each run writes a JSON report that `scripts/test.mjs` sums up.
 */
export function defineProjectConfig(configUrl: string, overrides: { testTimeout?: number } = {}) {
  const projectRoot = dirname(fileURLToPath(configUrl));
  return defineConfig({
    resolve: { conditions: ['@bijective/source'] },
    ssr: { resolve: { conditions: ['@bijective/source'] } },
    test: {
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      // A hang guard, not a speed target: under CI's parallel projects on 2 cores a training test
      // can take several times its quiet-machine time.
      testTimeout: overrides.testTimeout ?? 300_000,
      hookTimeout: 120_000,
      reporters: ['default', 'json'],
      // Inside the project, at the path nx.json declares as the test target's output, so a cached
      // run restores the report that `scripts/test.mjs` reads.
      outputFile: { json: join(projectRoot, 'test-results', 'vitest.json') },
    },
  });
}
