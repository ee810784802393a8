// One linter for the whole tree; prettier owns layout, so no stylistic rules here.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'data/**',
      'recordings/**',
      'ingest-data/**',
      'artifacts/**',
      'web/dist/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Read configuration through src/config (loadConfig).',
        },
      ],
    },
  },
  {
    files: ['src/config/**', 'scripts/**', 'test/**', 'bench/**', 'bin/**', 'src/cli/main.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    files: ['bin/**', 'scripts/**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
