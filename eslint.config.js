import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import regexp from 'eslint-plugin-regexp';

/** Regexes that can backtrack super-linearly stall the process on a crafted input: refused everywhere, the generated schemas' too. */
const NO_SUPER_LINEAR = {
  'regexp/no-super-linear-backtracking': 'error',
  'regexp/no-super-linear-move': 'error',
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'examples/**', '.work/**'] },
  {
    ignores: ['src/api/generated/**'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/**', 'scripts/**', 'bench/**'],
    ignores: ['src/api/generated/**'],
    extends: [regexp.configs['flat/recommended']],
    rules: {
      ...NO_SUPER_LINEAR,
      // Style only: `\w` for `[A-Za-z0-9_]` and the like would churn every module for no behaviour.
      'regexp/prefer-w': 'off',
      'regexp/prefer-d': 'off',
      'regexp/use-ignore-case': 'off',
      'regexp/no-unused-capturing-group': 'off',
    },
  },
  // The `crml` command's loader (copied to dist/bin/crml.cjs): CommonJS, run by Node as it is, never compiled.
  {
    files: ['scripts/**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'readonly', __dirname: 'readonly', process: 'readonly', Buffer: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  // The patterns generated from the service model run on every request's input.
  {
    files: ['src/api/generated/**'],
    languageOptions: { parser: tseslint.parser },
    plugins: { regexp },
    rules: NO_SUPER_LINEAR,
  },
);
