import { describe, expect, it } from 'vitest';
import { hostHeaderHostname, isLoopbackHostname } from './loopback.ts';
import { createOutboundPolicy } from './outbound-policy.ts';

const hostOf = (url: string) => new URL(url).hostname;

describe('what counts as loopback', () => {
  it('accepts localhost, 127.0.0.0/8, ::1 and IPv4-mapped 127/8, however they are written', () => {
    for (const url of [
      'http://localhost:1/',
      'http://LOCALHOST./',
      'http://127.0.0.1/',
      'http://127.255.0.9/',
      'http://[::1]/',
      'http://[::ffff:127.0.0.1]/',
      'http://0x7f000001/',
      'http://2130706433/',
    ]) {
      expect(isLoopbackHostname(hostOf(url)), url).toBe(true);
    }
  });

  it('refuses names that merely resolve to 127.0.0.1, and other addresses', () => {
    for (const url of [
      'http://localhost.attacker.example/',
      'http://127.0.0.1.nip.io/',
      'http://attacker.localhost.example/',
      'http://10.0.0.1/',
      'http://[::ffff:10.0.0.1]/',
      'http://[::2]/',
      'http://0.0.0.0/',
    ]) {
      expect(isLoopbackHostname(hostOf(url)), url).toBe(false);
    }
  });

  it('reads the hostname of a Host header and refuses what is not a host', () => {
    expect(hostHeaderHostname('127.0.0.1:8123')).toBe('127.0.0.1');
    expect(hostHeaderHostname('[::1]:8123')).toBe('[::1]');
    expect(hostHeaderHostname('Example.COM')).toBe('example.com');
    for (const bad of ['', 'a b', 'evil.example/x', 'user@127.0.0.1', '127.0.0.1#x']) {
      expect(hostHeaderHostname(bad), JSON.stringify(bad)).toBeUndefined();
    }
  });
});

describe('the outbound policy', () => {
  const policy = createOutboundPolicy({
    allowedHosts: ['hooks.example', 'api.example:8443'],
    selfPort: () => 8123,
  });

  it('lets loopback and allowed hosts be called, nothing else', () => {
    expect(policy.refusal('http://127.0.0.1:9/x')).toBeUndefined();
    expect(policy.refusal('https://hooks.example/x')).toBeUndefined();
    expect(policy.refusal('https://api.example:8443/x')).toBeUndefined();
    expect(policy.refusal('https://api.example/x')).toContain('not one');
    expect(policy.refusal('http://evil.example/')).toContain('LOCAL_CLOUD_OUTBOUND_HOSTS');
    expect(policy.refusal('file:///etc/passwd')).toContain('only http and https');
    expect(policy.refusal('not a url')).toContain('not a URL');
  });

  it('sends the OIDC token to loopback hosts only and the OAuth token to local-cloud only', () => {
    expect(policy.mayCarry('http://127.0.0.1:9/x', 'oidc')).toBe(true);
    expect(policy.mayCarry('http://127.0.0.1:8123/v1/x', 'oauth')).toBe(true);
    expect(policy.mayCarry('http://127.0.0.1:9/x', 'oauth')).toBe(false);
    // Local-cloud listens on 127.0.0.1 only: another loopback address on its port is whoever
    // bound it (another user), and `localhost` may resolve to ::1.
    for (const other of ['localhost', '[::1]', '127.0.0.2', '[::ffff:7f00:1]']) {
      expect(policy.mayCarry(`http://${other}:8123/v1/x`, 'oauth'), other).toBe(false);
    }
    expect(createOutboundPolicy({}).mayCarry('http://127.0.0.1:8123/v1/x', 'oauth')).toBe(false);
    expect(policy.mayCarry('https://hooks.example/x', 'oidc')).toBe(false);
    expect(policy.mayCarry('https://hooks.example/x', 'oauth')).toBe(false);
  });

  it('allows any host with "*", still without tokens', () => {
    const open = createOutboundPolicy({ allowedHosts: ['*'] });
    expect(open.refusal('https://anywhere.example/')).toBeUndefined();
    expect(open.mayCarry('https://anywhere.example/', 'oidc')).toBe(false);
  });
});
