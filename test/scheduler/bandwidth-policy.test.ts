import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  NO_BANDWIDTH_POLICY,
  parseRate,
  parseTimetable,
  policyRate,
  timetableRate,
} from '../../src/scheduler/bandwidth-policy.ts';

describe('bandwidth policy', () => {
  it('parses rates in binary units, off and 0', () => {
    assert.equal(parseRate('512k'), 512 * 1024);
    assert.equal(parseRate('10M'), 10 * 1024 * 1024);
    assert.equal(parseRate('off'), Number.POSITIVE_INFINITY);
    assert.equal(parseRate('0'), 0);
    assert.throws(() => parseRate('fast'), /not a rate/);
  });

  it('parses an rclone-style weekly timetable and finds the rate in force', () => {
    const tt = parseTimetable('Mon-08:00,512k Sat-00:00,off');
    assert.equal(timetableRate(tt, { day: 1, minute: 9 * 60 }), 512 * 1024);
    assert.equal(timetableRate(tt, { day: 3, minute: 0 }), 512 * 1024);
    assert.equal(timetableRate(tt, { day: 6, minute: 60 }), Number.POSITIVE_INFINITY);
    // Sunday wraps around to Saturday's entry; Monday before 08:00 too.
    assert.equal(timetableRate(tt, { day: 0, minute: 600 }), Number.POSITIVE_INFINITY);
    assert.equal(timetableRate(tt, { day: 1, minute: 7 * 60 }), Number.POSITIVE_INFINITY);
    assert.throws(() => parseTimetable('Mon-25:00,1M'), /out of range/);
    assert.throws(() => parseTimetable('Xyz-08:00,1M'), /unknown day/);
  });

  it('applies daily entries every day', () => {
    const tt = parseTimetable('08:00,1M 18:00,off');
    assert.equal(timetableRate(tt, { day: 2, minute: 12 * 60 }), 1024 * 1024);
    assert.equal(timetableRate(tt, { day: 2, minute: 20 * 60 }), Number.POSITIVE_INFINITY);
    assert.equal(timetableRate(tt, { day: 2, minute: 6 * 60 }), Number.POSITIVE_INFINITY);
  });

  it('takes the BITS window shape: one rate inside the hours, another outside; foreground exempt', () => {
    const policy = {
      ...NO_BANDWIDTH_POLICY,
      maxInternetBandwidth: { startHour: 8, endHour: 17, inWindow: 0, outsideWindow: null },
    };
    assert.equal(policyRate(policy, 'NORMAL', { day: 1, minute: 9 * 60 }), 0);
    assert.equal(policyRate(policy, 'NORMAL', { day: 1, minute: 18 * 60 }), Number.POSITIVE_INFINITY);
    assert.equal(policyRate(policy, 'FOREGROUND', { day: 1, minute: 9 * 60 }), Number.POSITIVE_INFINITY);
  });

  it('uses per-priority work and non-work limits and the smallest applicable limit', () => {
    const policy = {
      ...NO_BANDWIDTH_POLICY,
      workSchedule: {
        workDays: [1, 2, 3, 4, 5],
        workStartHour: 8,
        workEndHour: 17,
        work: { HIGH: 4000, LOW: 1000 },
        nonWork: { LOW: 8000 },
      },
      timetable: parseTimetable('00:00,2000'),
    };
    assert.equal(policyRate(policy, 'HIGH', { day: 1, minute: 600 }), 2000);
    assert.equal(policyRate(policy, 'LOW', { day: 1, minute: 600 }), 1000);
    assert.equal(policyRate(policy, 'NORMAL', { day: 6, minute: 600 }), 2000);
  });
});
