// ESLint: the type-aware rules that catch real bugs in this code (promises nobody awaits or that go where a
// callback's result is ignored, `any` leaking across a boundary), on top of the recommended sets. Layout is
// Prettier's job (eslint-config-prettier turns off the rules that would fight it).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      '.bench/**',
      '.cache/**',
      '.airlock/**',
      'node_modules/**',
      'scratch/**',
      'coverage/**',
      'apps/cli/src/client/api-types.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // an async function without await is how a throw becomes a rejection for callers that only handle rejections
      '@typescript-eslint/require-await': 'off',
      // closures travel in object literals typed by interfaces with method signatures (resolvePath, close, onProgress):
      // this rule takes each for a class method losing its `this`; no class method here is detached
      '@typescript-eslint/unbound-method': 'off',
      // its fixer removed casts that closures need (TypeScript narrows a captured variable only where it is declared)
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
    },
  },
  {
    // tests read answers as the JSON they are and assert on them field by field: `any` there is checked by the assertion
    files: ['test/**/*.ts', '**/*.spec.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      globals: { require: 'readonly', module: 'writable', process: 'readonly', __dirname: 'readonly', console: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  prettier,
);
