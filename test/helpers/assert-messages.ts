/**
 * Loaded before every test file (`scripts/test.ts` passes it with --import).
 *
 * When `assert.ok(value)` fails without a message, Node writes one by re-reading the
 * source file at the failing call's line and column and parsing it with acorn. Under tsx
 * those positions belong to the transpiled code, not to the .ts file on disk, so acorn
 * parses the wrong text, and on some files that takes minutes of blocked event loop: a
 * test that should fail in a second hangs instead (seen in test/security, inside
 * `eventually(() => assert.ok(...))`, which fails on purpose until the cluster catches up).
 * Giving the message ourselves skips that path; it names the value that was not truthy.
 */
import assert from 'node:assert';
import { syncBuiltinESMExports } from 'node:module';
import { inspect } from 'node:util';

type Ok = (value: unknown, message?: string | Error) => asserts value;

function withMessage(ok: Ok): Ok {
  return function okWithMessage(value: unknown, message?: string | Error): asserts value {
    if (!value && message === undefined) {
      throw new assert.AssertionError({
        message: `expected a truthy value, got ${inspect(value)}`,
        actual: value,
        expected: true,
        operator: '==',
        stackStartFn: okWithMessage,
      });
    }
    ok(value, message);
  };
}

// `assert.strict.ok` and `assert.ok` are the same function; patch both names anyway.
assert.ok = withMessage(assert.ok);
assert.strict.ok = withMessage(assert.strict.ok);
// So that `import { ok } from 'node:assert/strict'` sees the patched function too.
syncBuiltinESMExports();
