import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors/errors.js';
import {
  describe as describeValue,
  rejectUnknownKeys,
  requireBoolean,
  requireDuration,
  requireFunction,
  requireInteger,
  requireNonEmptyString,
  requireObject,
  requireOneOf,
  requirePartition,
  requireStreamName,
  requireSubject,
} from '../../src/internal/validate.js';

function thrown(fn: () => unknown): InvalidArgumentError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidArgumentError);
    return e as InvalidArgumentError;
  }
  throw new Error('expected an InvalidArgumentError, nothing was thrown');
}

describe('requireInteger', () => {
  it('returns integers within the range', () => {
    expect(requireInteger('n', 0, 0)).toBe(0);
    expect(requireInteger('n', 10, 0, 10)).toBe(10);
    expect(requireInteger('n', -3, -5)).toBe(-3);
  });

  it.each([[1.5], [Number.NaN], [Number.POSITIVE_INFINITY], ['1'], [1n], [null], [undefined]])('rejects the non-integer %o', (v) => {
    const e = thrown(() => requireInteger('x.y', v, 0));
    expect(e.field).toBe('x.y');
    expect(e.message).toMatch(/^Invalid x\.y: expected an integer/);
  });

  it('rejects values out of range and says which range', () => {
    expect(thrown(() => requireInteger('n', -1, 0)).message).toContain('an integer >= 0, got -1');
    expect(thrown(() => requireInteger('n', 11, 0, 10)).message).toContain('an integer from 0 to 10, got 11');
  });
});

describe('requireDuration', () => {
  it('accepts finite non-negative numbers, 0 by default', () => {
    expect(requireDuration('d', 0)).toBe(0);
    expect(requireDuration('d', 1.5)).toBe(1.5);
    expect(requireDuration('d', 10, { max: 10 })).toBe(10);
  });

  it.each([[-1], [Number.NaN], [Number.POSITIVE_INFINITY], ['100'], [null]])('rejects %o', (v) => {
    expect(thrown(() => requireDuration('timeoutMs', v)).field).toBe('timeoutMs');
  });

  it('rejects 0 when allowZero is false and values above max', () => {
    expect(thrown(() => requireDuration('d', 0, { allowZero: false })).message).toContain('greater than 0');
    expect(thrown(() => requireDuration('d', 11, { max: 10 })).message).toContain('at most 10');
  });
});

describe('requireBoolean / requireFunction / requireObject / requireNonEmptyString', () => {
  it('accept their type', () => {
    expect(requireBoolean('b', false)).toBe(false);
    expect(() => requireFunction('f', () => 1)).not.toThrow();
    const o = { a: 1 };
    expect(requireObject('o', o)).toBe(o);
    expect(requireNonEmptyString('s', 'x')).toBe('x');
  });

  it('reject everything else, naming the field', () => {
    expect(thrown(() => requireBoolean('b', 'true')).field).toBe('b');
    expect(thrown(() => requireBoolean('b', 0)).field).toBe('b');
    expect(thrown(() => requireFunction('f', {})).field).toBe('f');
    expect(thrown(() => requireObject('o', null)).field).toBe('o');
    expect(thrown(() => requireObject('o', [])).message).toContain('an array');
    expect(thrown(() => requireObject('o', 'x')).field).toBe('o');
    expect(thrown(() => requireNonEmptyString('s', '')).field).toBe('s');
    expect(thrown(() => requireNonEmptyString('s', 1)).field).toBe('s');
  });
});

describe('requireOneOf', () => {
  it('accepts listed values and rejects others, listing the allowed ones', () => {
    expect(requireOneOf('mode', 'a', ['a', 'b'])).toBe('a');
    const e = thrown(() => requireOneOf('mode', 'c', ['a', 'b']));
    expect(e.field).toBe('mode');
    expect(e.message).toContain("'a', 'b'");
    expect(thrown(() => requireOneOf('mode', 1, ['a'])).field).toBe('mode');
  });
});

describe('rejectUnknownKeys', () => {
  it('accepts known keys', () => {
    expect(() => rejectUnknownKeys('retry', { maxRetries: 1 }, ['maxRetries'])).not.toThrow();
  });

  it('names the unknown key, prefixed by the parent field unless it is top level', () => {
    expect(thrown(() => rejectUnknownKeys('retry', { maxRetry: 1 }, ['maxRetries'])).field).toBe('retry.maxRetry');
    expect(thrown(() => rejectUnknownKeys('', { brokerz: [] }, ['brokers'])).field).toBe('brokerz');
    expect(thrown(() => rejectUnknownKeys('', { brokerz: [] }, ['brokers'])).message).toContain('known: brokers');
  });
});

describe('requireStreamName', () => {
  it('for existing streams only refuses empty names, whitespace, control characters and path separators', () => {
    expect(requireStreamName('s', '__cursors')).toBe('__cursors');
    expect(requireStreamName('s', 'a$b')).toBe('a$b');
    for (const bad of ['', 'a b', 'a\nb', 'a/b', 'a\\b', 'a\u0001b', 5]) {
      expect(thrown(() => requireStreamName('s', bad)).field).toBe('s');
    }
  });

  it('for new streams also enforces the safe alphabet, the length and the reserved prefix', () => {
    expect(requireStreamName('s', 'a-b_c.d', true)).toBe('a-b_c.d');
    for (const bad of ['__cursors', 'a$b', '.', '..', 'x'.repeat(250), 'é']) {
      expect(thrown(() => requireStreamName('s', bad, true)).field).toBe('s');
    }
  });
});

describe('requireSubject', () => {
  it('accepts subjects with wildcards', () => {
    expect(requireSubject('subject', 'a.*.>')).toBe('a.*.>');
  });

  it('rejects empty tokens, whitespace and non-strings', () => {
    for (const bad of ['', 'a..b', '.a', 'a.', 'a b', 'a\tb', null]) {
      expect(thrown(() => requireSubject('subject', bad)).field).toBe('subject');
    }
  });
});

describe('requirePartition', () => {
  it('accepts 0 to 2^31-1', () => {
    expect(requirePartition('p', 0)).toBe(0);
    expect(requirePartition('p', 2_147_483_647)).toBe(2_147_483_647);
  });

  it('rejects negatives, fractions and values past int32', () => {
    for (const bad of [-1, 0.5, 2_147_483_648, '0']) expect(thrown(() => requirePartition('p', bad)).field).toBe('p');
  });
});

describe('describe', () => {
  it('renders values for error messages', () => {
    expect(describeValue(null)).toBe('null');
    expect(describeValue(undefined)).toBe('undefined');
    expect(describeValue('x')).toBe('"x"');
    expect(describeValue(3n)).toBe('3n');
    expect(describeValue(1.5)).toBe('1.5');
    expect(describeValue(true)).toBe('true');
    expect(describeValue([1])).toBe('an array');
    expect(describeValue({})).toBe('object');
    expect(describeValue(() => 1)).toBe('function');
  });
});
