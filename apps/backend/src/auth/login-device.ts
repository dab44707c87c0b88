/**
 * The login-device cookie: after a successful login the browser gets a
 * random id signed with a key derived from the admin password hash. A login
 * attempt that carries a valid one is limited under that device instead of
 * its address, so an attacker sharing the admin's address (an office NAT, a
 * carrier-grade NAT) cannot lock the admin out (OWASP, "Slow Down Online
 * Guessing Attacks with Device Cookies"). An attacker never has a valid one:
 * it is only issued for the right password. Changing the password invalidates
 * every device cookie. HttpOnly, SameSite=Strict, scoped to the login path.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { randomToken } from '../ids.ts';

/** Name of the cookie. */
export const DEVICE_COOKIE = 'login_device';
/** How long a device is remembered: 180 days. */
const DEVICE_TTL_SECONDS = 180 * 24 * 60 * 60;
const LOGIN_PATH = '/api/admin/login';

/** Signs and checks device cookies for one admin password hash. */
export function createLoginDevices(adminPasswordHash: string, secure: boolean) {
  const key = createHash('sha256').update(`login-device\0${adminPasswordHash}`).digest();
  const sign = (id: string) => createHmac('sha256', key).update(id).digest('base64url');
  return {
    /** The device id of a valid cookie on the request, else undefined. */
    deviceOf(c: Context): string | undefined {
      const value = getCookie(c, DEVICE_COOKIE);
      const [id, mac, extra] = (value ?? '').split('.');
      if (!id || !mac || extra !== undefined || !/^[A-Za-z0-9_-]{22}$/.test(id)) return undefined;
      const expected = Buffer.from(sign(id));
      const given = Buffer.from(mac);
      return expected.length === given.length && timingSafeEqual(expected, given) ? id : undefined;
    },
    /** Sets a cookie for the request's device (keeping a valid one's id). */
    remember(c: Context, existing: string | undefined): void {
      const id = existing ?? randomToken(16);
      setCookie(c, DEVICE_COOKIE, `${id}.${sign(id)}`, {
        httpOnly: true,
        sameSite: 'Strict',
        secure,
        path: LOGIN_PATH,
        maxAge: DEVICE_TTL_SECONDS,
      });
    },
  };
}

/** The device-cookie helper type. */
export type LoginDevices = ReturnType<typeof createLoginDevices>;
