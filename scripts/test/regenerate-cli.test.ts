import { describe, expect, it } from 'vitest';
import { requestFor } from '../src/regenerate/main.ts';

describe('scripts/regenerate', () => {
  it('turns a dry run with a filter and a lower cap into one POST', () => {
    expect(
      requestFor([
        '--dry-run',
        '--ids',
        'img_a,img_b',
        '--from',
        '2026-01-01T00:00:00Z',
        '--max-executions',
        '50',
      ]),
    ).toEqual({
      method: 'POST',
      path: '/api/admin/regenerate',
      body: {
        dryRun: true,
        filter: { ids: ['img_a', 'img_b'], from: '2026-01-01T00:00:00Z' },
        caps: { maxExecutions: 50 },
      },
    });
  });

  it('pauses, resumes and cancels a named run, and refuses one without an id', () => {
    expect(requestFor(['pause', '3'])).toMatchObject({ path: '/api/admin/regenerate/3/pause' });
    expect(requestFor(['status'])).toEqual({ method: 'GET', path: '/api/admin/regenerate' });
    expect(() => requestFor(['cancel'])).toThrow(/needs a run id/);
    expect(() => requestFor(['--max-executions', '0'])).toThrow(/positive integer/);
  });
});
