// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Workflows source, where ${…} is expression syntax.
/**
 * `parallel` steps against Google's reference
 * (https://cloud.google.com/workflows/docs/reference/syntax/parallel-steps).
 * Concurrency is proven by structure, never by timing: a loopback server
 * answers only once every expected request has arrived, and a host sleep
 * returns only once enough sleeps are pending at the same time.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunContext } from './context.ts';
import { fetchHttp } from './fetch-http.ts';
import { recordingContext, run, runError } from './test-support.ts';

/** A server that holds every request until `expected` have arrived (or answers 504 after `giveUpMs`). */
async function barrierServer(expected: number, giveUpMs = 10_000) {
  const pending: (() => void)[] = [];
  const server: Server = createServer((req, res) => {
    const answer = (status: number) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ path: req.url, together: pending.length }));
    };
    const timer = setTimeout(() => answer(504), giveUpMs);
    pending.push(() => {
      clearTimeout(timer);
      answer(200);
    });
    if (pending.length === expected) for (const release of pending) release();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A host sleep that returns only when `expected` sleeps wait together (rejects after a bound). */
function barrierSleep(expected: number): {
  sleep: NonNullable<RunContext['sleep']>;
  peak: () => number;
} {
  let waiting: (() => void)[] = [];
  let peak = 0;
  return {
    peak: () => peak,
    sleep: (_ms, signal) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('sleeps never overlapped')), 10_000);
        const onAbort = () => {
          clearTimeout(timer);
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        waiting.push(() => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          resolve();
        });
        peak = Math.max(peak, waiting.length);
        if (waiting.length === expected) {
          const all = waiting;
          waiting = [];
          for (const release of all) release();
        }
      }),
  };
}

/** A host sleep that counts how many sleeps run at once and ends each on the next turn. */
function countingSleep() {
  let active = 0;
  let peak = 0;
  return {
    peak: () => peak,
    sleep: async () => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      active--;
    },
  };
}

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

describe('limits and fatal errors', () => {
  it('raises ParallelNestingError for a third level of parallel steps', async () => {
    const level = (depth: number): string =>
      depth === 0
        ? '- leaf:\n    assign:\n      - x: 1\n'
        : `- p${depth}:\n    parallel:\n      branches:\n        - a${depth}:\n            steps:\n${indent(level(depth - 1), 14)}        - b${depth}:\n            steps:\n              - noop${depth}:\n                  assign:\n                    - y: 1\n`;
    const indent = (text: string, n: number) =>
      text
        .split('\n')
        .map((l) => (l === '' ? l : ' '.repeat(n) + l))
        .join('\n');
    expect(await run(`${level(2)}- done:\n    return: "two levels"\n`)).toBe('two levels');
    const error = await runError(level(3));
    expect(JSON.stringify(error)).toContain('ParallelNestingError');
  });

  it('ends every branch when one reaches the step limit, which no except can catch', async () => {
    const ctx = recordingContext({ limits: { maxSteps: 50 } });
    const source = `
- guarded:
    try:
      steps:
        - spin:
            parallel:
              branches:
                - looping:
                    steps:
                      - again:
                          next: again
                - sleeping:
                    steps:
                      - nap:
                          call: sys.sleep
                          args: { seconds: 3600 }
    except:
      steps:
        - swallowed:
            return: "caught"
`;
    expect(await runError(source, null, ctx)).toMatchObject({ tags: ['ResourceLimitError'] });
  });

  it('stops sleeping branches when the host cancels the execution', async () => {
    const controller = new AbortController();
    const barrier = barrierSleep(99);
    const ctx = { ...recordingContext({ signal: controller.signal }), sleep: barrier.sleep };
    const source = `
- naps:
    parallel:
      for:
        value: n
        range: [1, 3]
        steps:
          - nap:
              call: sys.sleep
              args: { seconds: 60 }
`;
    const result = runError(source, null, ctx);
    await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    expect(await result).toMatchObject({ tags: ['CancelledError'] });
  });
});
