import { describe, expect, it } from 'vitest';
import { absoluteTargetAuthority, regionOfHostname } from './regional-host.ts';

describe("gcloud's regional host names", () => {
  it('reads the region of <region>-localhost, as gcloud derives it from http://localhost:PORT/', () => {
    expect(regionOfHostname('us-central1-localhost')).toBe('us-central1');
    expect(regionOfHostname('EUROPE-WEST1-LOCALHOST.')).toBe('europe-west1');
    expect(regionOfHostname('northamerica-northeast2-localhost')).toBe('northamerica-northeast2');
  });

  it('finds no region in other names, however close', () => {
    for (const host of [
      'localhost',
      '-localhost',
      'evil-localhost',
      'us-central1-localhost.attacker.example',
      'us-central1-127.0.0.1',
      'us-central1.localhost',
      'x.us-central1-localhost',
    ]) {
      expect(regionOfHostname(host), host).toBeUndefined();
    }
  });

  it('reads the authority of an absolute (proxy-form) target only', () => {
    expect(absoluteTargetAuthority('http://us-central1-localhost:8123/apis/x')).toBe(
      'us-central1-localhost:8123',
    );
    expect(
      absoluteTargetAuthority('/apis/run.googleapis.com/v1/namespaces/p/jobs'),
    ).toBeUndefined();
    expect(absoluteTargetAuthority('https://us-central1-localhost/')).toBeUndefined();
    expect(absoluteTargetAuthority('http://user@us-central1-localhost/')).toBeUndefined();
  });
});
