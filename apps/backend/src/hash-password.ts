/**
 * Prints the scrypt hash of a password for ADMIN_PASSWORD_HASH:
 * `node apps/backend/src/hash-password.ts` (reads the password from stdin).
 */
import { hashPassword } from './auth/password.ts';

const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
const password = Buffer.concat(chunks)
  .toString('utf8')
  .replace(/\r?\n$/, '');
if (password.length === 0) {
  process.stderr.write('usage: printf %s "$PASSWORD" | scripts/hash-password\n');
  process.exit(2);
}
process.stdout.write(`${await hashPassword(password)}\n`);
