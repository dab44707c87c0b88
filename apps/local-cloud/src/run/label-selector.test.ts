import { describe, expect, it } from 'vitest';
import { parseLabelSelector, requiredValue } from './label-selector.ts';

const labels = {
  'run.googleapis.com/execution': 'job-a1b2c',
  'run.googleapis.com/runningState': 'Failed',
  team: 'images',
};

describe('label selectors (Cloud Run v1 list labelSelector)', () => {
  it('matches =, ==, !=, in, notin, exists and !exists as gcloud writes them', () => {
    const yes = [
      '',
      'run.googleapis.com/execution = job-a1b2c',
      'run.googleapis.com/execution==job-a1b2c',
      'team != videos',
      'run.googleapis.com/execution = job-a1b2c,run.googleapis.com/runningState in (Running,Failed)',
      'run.googleapis.com/runningState notin (Succeeded, Cancelled)',
      'team',
      '!owner',
    ];
    for (const text of yes) expect(parseLabelSelector(text)(labels), text).toBe(true);
    const no = [
      'run.googleapis.com/execution = job-other',
      'team != images',
      'run.googleapis.com/runningState in (Running,Succeeded)',
      'owner',
      '!team',
    ];
    for (const text of no) expect(parseLabelSelector(text)(labels), text).toBe(false);
  });

  it('refuses what it cannot read with INVALID_ARGUMENT', () => {
    for (const text of ['team in (a', 'team ~ x', 'a = b = c']) {
      expect(() => parseLabelSelector(text), text).toThrow(/Invalid labelSelector/);
    }
  });

  it('tells the single value a selector requires for a key', () => {
    expect(requiredValue('run.googleapis.com/job = my-job', 'run.googleapis.com/job')).toBe(
      'my-job',
    );
    expect(
      requiredValue('run.googleapis.com/job in (a,b)', 'run.googleapis.com/job'),
    ).toBeUndefined();
    expect(requiredValue(null, 'run.googleapis.com/job')).toBeUndefined();
  });
});
