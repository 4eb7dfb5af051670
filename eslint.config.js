// Type-aware lint: the rules that catch what review keeps finding (promises nobody awaits,
// async callbacks where a void one is expected, a switch that forgets a new variant).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'web/vendor/**',
      'coverage/**',
      '.pgward/**',
      '.cache/**',
      'bench/results/**',
      'test-results/**',
      'test-output/**',
      'fuzz/crashes/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    // The browser scripts are type-checked by tsc (tsconfig.web.json, checkJs), which knows the DOM's names.
    files: ['web/**/*.js'],
    rules: { 'no-undef': 'off' },
  },
);
