import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createdSince,
  formatGoG,
  goRfc3339,
  goTimeString,
  humanDuration,
  humanSize,
  humanSizeWithPrecision,
} from '../../../src/images/humanize.js';

test('formatGoG matches Go strconv %g with precision', () => {
  const cases: Array<[number, number, string]> = [
    [0, 3, '0'],
    [1, 3, '1'],
    [1.5, 3, '1.5'],
    [12, 3, '12'],
    [100, 3, '100'],
    [123.456, 3, '123'],
    [142.209479, 3, '142'],
    [142.209479, 4, '142.2'],
    [10.24, 3, '10.2'],
    [10.24, 4, '10.24'],
    [1.125, 3, '1.12'], // exact tie: half to even
    [1.375, 3, '1.38'],
    [999.999, 3, '1e+03'],
    [0.0001234, 3, '0.000123'],
    [0.00001234, 3, '1.23e-05'],
    [2.5, 1, '2'],
    [3.5, 1, '4'],
  ];
  for (const [x, p, want] of cases) assert.equal(formatGoG(x, p), want, `${x} %.${p}g`);
});

test('go-units sizes: decimal units, 3 or 4 significant digits', () => {
  assert.equal(humanSizeWithPrecision(0, 3), '0B');
  assert.equal(humanSizeWithPrecision(5, 3), '5B');
  assert.equal(humanSizeWithPrecision(325, 3), '325B');
  assert.equal(humanSizeWithPrecision(1000, 3), '1kB');
  assert.equal(humanSizeWithPrecision(1125, 3), '1.12kB');
  assert.equal(humanSizeWithPrecision(10240, 3), '10.2kB');
  assert.equal(humanSizeWithPrecision(142209479, 3), '142MB');
  assert.equal(humanSizeWithPrecision(4_380_000, 3), '4.38MB');
  assert.equal(humanSizeWithPrecision(999_999, 3), '1e+03kB');
  assert.equal(humanSizeWithPrecision(1.5e12, 3), '1.5TB');
  assert.equal(humanSize(142209479), '142.2MB');
  assert.equal(humanSize(514_100_000), '514.1MB');
  assert.equal(humanSize(0), '0B');
});

test('go-units HumanDuration thresholds', () => {
  const s = 1000;
  const cases: Array<[number, string]> = [
    [0, 'Less than a second'],
    [999, 'Less than a second'],
    [1 * s, '1 second'],
    [59 * s, '59 seconds'],
    [60 * s, 'About a minute'],
    [119 * s, 'About a minute'],
    [120 * s, '2 minutes'],
    [3599 * s, '59 minutes'],
    [3600 * s, 'About an hour'],
    [5399 * s, 'About an hour'],
    [5400 * s, '2 hours'],
    [47 * 3600 * s, '47 hours'],
    [48 * 3600 * s, '2 days'],
    [13 * 86400 * s, '13 days'],
    [14 * 86400 * s, '2 weeks'],
    [59 * 86400 * s, '8 weeks'],
    [60 * 86400 * s, '2 months'],
    [729 * 86400 * s, '24 months'],
    [730 * 86400 * s, '2 years'],
    [-5 * s, 'Less than a second'],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, `${ms} ms`);
  assert.equal(createdSince(1_000_000, 1_000_000_000 + 180_000), '3 minutes ago');
});

test('Go time formats in UTC', {
  skip: new Date().getTimezoneOffset() !== 0 ? 'local zone is not UTC' : false,
}, () => {
  assert.equal(goTimeString(1795606831), '2026-11-25 11:40:31 +0000 UTC');
  assert.equal(goRfc3339(1795606831), '2026-11-25T11:40:31Z');
  assert.equal(goRfc3339(-62135596800), '0001-01-01T00:00:00Z');
});
