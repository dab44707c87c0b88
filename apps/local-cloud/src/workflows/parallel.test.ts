// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Workflows source, where ${…} is expression syntax.
/**
 * `parallel` steps against Google's reference
 * (https://cloud.google.com/workflows/docs/reference/syntax/parallel-steps).
 * Concurrency is proven by structure, never by timing: a loopback server
 * answers only once every expected request has arrived, and a host sleep
 * returns only once enough sleeps are pending at the same time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { fetchHttp } from './fetch-http.ts';
import { barrierServer, barrierSleep, countingSleep } from './test-barriers.ts';
import { recordingContext, run, runError } from './test-support.ts';

let closeServer: (() => Promise<void>) | undefined;
afterEach(async () => {
  await closeServer?.();
  closeServer = undefined;
});

describe('parallel branches', () => {
  it('runs the HTTP calls of two branches at the same time, and shares their results', async () => {
    const server = await barrierServer(2);
    closeServer = server.close;
    const source = `
main:
  params: [base]
  steps:
    - init:
        assign:
          - results: {}
    - fetch_both:
        parallel:
          shared: [results]
          branches:
            - left:
                steps:
                  - get_left:
                      call: http.get
                      args:
                        url: \${base + "/left"}
                      result: answer
                  - keep_left:
                      assign:
                        - results.left: \${answer.body.path}
            - right:
                steps:
                  - get_right:
                      call: http.get
                      args:
                        url: \${base + "/right"}
                      result: answer
                  - keep_right:
                      assign:
                        - results.right: \${answer.body.path}
    - done:
        return: \${results}
`;
    const ctx = recordingContext({ http: fetchHttp });
    expect(await run(source, server.url, ctx)).toEqual({ left: '/left', right: '/right' });
  });

  it('overlaps sys.sleep in branches: three sleeps wait together', async () => {
    const barrier = barrierSleep(3);
    const ctx = { ...recordingContext(), sleep: barrier.sleep };
    const source = `
- nap:
    parallel:
      branches:
        - a:
            steps:
              - sleep_a:
                  call: sys.sleep
                  args: { seconds: 5 }
        - b:
            steps:
              - sleep_b:
                  call: sys.sleep
                  args: { seconds: 5 }
        - c:
            steps:
              - sleep_c:
                  call: sys.sleep
                  args: { seconds: 5 }
- done:
    return: "rested"
`;
    expect(await run(source, null, ctx)).toBe('rested');
    expect(barrier.peak()).toBe(3);
  });
});

describe('parallel for', () => {
  it('iterates a list with value and index, accumulating into a shared variable', async () => {
    const source = `
- init:
    assign:
      - total: 0
      - seen: {}
- add_all:
    parallel:
      shared: [total, seen]
      for:
        value: n
        index: i
        in: [10, 20, 30, 40]
        steps:
          - add:
              assign:
                - total: \${total + n}
                - seen[string(i)]: \${n}
- done:
    return:
      - \${total}
      - \${seen}
`;
    expect(await run(source)).toEqual([100, { '0': 10, '1': 20, '2': 30, '3': 40 }]);
  });

  it('iterates an inclusive range and a map through keys()', async () => {
    const source = `
- init:
    assign:
      - sum: 0
      - prices: { apple: 3, pear: 4 }
      - cost: 0
- over_range:
    parallel:
      shared: [sum]
      for:
        value: k
        range: [1, 10]
        steps:
          - plus:
              assign:
                - sum: \${sum + k}
- over_map:
    parallel:
      shared: [cost]
      for:
        value: fruit
        in: \${keys(prices)}
        steps:
          - price:
              assign:
                - cost: \${cost + prices[fruit]}
- done:
    return:
      - \${sum}
      - \${cost}
`;
    expect(await run(source)).toEqual([55, 7]);
  });

  it('never runs more iterations at once than concurrency_limit, and runs that many', async () => {
    const counter = countingSleep();
    const ctx = { ...recordingContext(), sleep: counter.sleep };
    const source = `
- init:
    assign:
      - limit: 2
- naps:
    parallel:
      concurrency_limit: \${limit}
      for:
        value: n
        range: [1, 6]
        steps:
          - nap:
              call: sys.sleep
              args: { seconds: 1 }
`;
    await run(source, null, ctx);
    expect(counter.peak()).toBe(2);
  });

  it('runs up to 20 iterations at once without a concurrency_limit', async () => {
    const counter = countingSleep();
    const ctx = { ...recordingContext(), sleep: counter.sleep };
    const source = `
- naps:
    parallel:
      for:
        value: n
        range: [1, 30]
        steps:
          - nap:
              call: sys.sleep
              args: { seconds: 1 }
`;
    await run(source, null, ctx);
    expect(counter.peak()).toBe(20);
  });

  it('ends an iteration with next: continue', async () => {
    const source = `
- init:
    assign:
      - odd: []
- pick:
    parallel:
      shared: [odd]
      for:
        value: n
        in: [1, 2, 3]
        steps:
          - skip_even:
              switch:
                - condition: \${n % 2 == 0}
                  next: continue
          - keep:
              assign:
                - odd: \${list.concat(odd, n)}
- done:
    return: \${len(odd)}
`;
    expect(await run(source)).toBe(2);
  });
});

describe('unhandled errors in branches (exception_policy: continueAll)', () => {
  const source = `
- init:
    assign:
      - finished: []
- work:
    try:
      steps:
        - fan_out:
            parallel:
              exception_policy: continueAll
              shared: [finished]
              for:
                value: n
                in: [1, 2, 3, 4]
                steps:
                  - check:
                      switch:
                        - condition: \${n % 2 == 1}
                          raise: \${"odd " + string(n)}
                  - record:
                      assign:
                        - finished: \${list.concat(finished, n)}
    except:
      as: e
      steps:
        - report:
            return:
              tags: \${e.tags}
              message: \${e.message}
              ids:
                - \${e.branches[0].id}
                - \${e.branches[1].id}
              payload: \${e.branches[0].error.payload}
              context: \${e.branches[0].error.context}
              step: \${e.branches[0].error.stackTrace.elements[0].step}
              truncated: \${e.truncated}
              finished: \${len(finished)}
`;

  it('lets the other iterations finish, then raises UnhandledBranchError listing each failure', async () => {
    expect(await run(source)).toEqual({
      tags: ['UnhandledBranchError'],
      message:
        'UnhandledBranchError: One or more branches or iterations encountered an unhandled runtime error',
      ids: ['0', '2'],
      payload: '"odd 1"',
      context: 'odd 1\nin step "check", routine "main", line: 16',
      step: 'check',
      truncated: false,
      finished: 2,
    });
  });

  it('fails the execution with UnhandledBranchError when nothing catches it', async () => {
    const uncaught = `
- fan_out:
    parallel:
      branches:
        - good:
            steps:
              - ok:
                  assign:
                    - x: 1
        - bad:
            steps:
              - broken:
                  raise:
                    code: 7
                    message: "bad branch"
`;
    const error = await runError(uncaught);
    expect(error).toMatchObject({
      tags: ['UnhandledBranchError'],
      branches: [{ id: 'bad', error: { payload: '{"code":7,"message":"bad branch"}' } }],
    });
  });
});
