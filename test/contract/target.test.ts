import { describe, expect, it } from 'vitest';
import { contractTarget } from './target';

const REAL = { APPWRITE_ENDPOINT: 'https://cloud.appwrite.io/v1/', APPWRITE_PROJECT_ID: 'my-project', APPWRITE_API_KEY: 'standard_abc' };

describe('the contract suite target', () => {
  it('is the real server when the three variables are set (trailing slash dropped)', () => {
    expect(contractTarget(REAL)).toEqual({ kind: 'appwrite', endpoint: 'https://cloud.appwrite.io/v1', projectId: 'my-project', apiKey: 'standard_abc' });
  });

  it('is a fresh emulator when any of them is missing or blank, naming what is missing', () => {
    expect(contractTarget({})).toEqual({ kind: 'emulator', reason: 'APPWRITE_ENDPOINT, APPWRITE_PROJECT_ID, APPWRITE_API_KEY not set' });
    expect(contractTarget({ ...REAL, APPWRITE_API_KEY: undefined })).toEqual({ kind: 'emulator', reason: 'APPWRITE_API_KEY not set' });
    expect(contractTarget({ ...REAL, APPWRITE_PROJECT_ID: '  ' })).toEqual({ kind: 'emulator', reason: 'APPWRITE_PROJECT_ID not set' });
  });

  it('is the emulator under `npm test` even with the three set (APPWRITE_CONTRACT_TARGET=emulator)', () => {
    expect(contractTarget({ ...REAL, APPWRITE_CONTRACT_TARGET: 'emulator' }).kind).toBe('emulator');
  });

  it('follows the environment this run was given', () => {
    // vitest.config.ts (npm test) pins the emulator; vitest.contract.config.ts (test:appwrite) does not.
    const expected = process.env.APPWRITE_CONTRACT_TARGET === 'emulator' || !(process.env.APPWRITE_ENDPOINT && process.env.APPWRITE_PROJECT_ID && process.env.APPWRITE_API_KEY) ? 'emulator' : 'appwrite';
    expect(contractTarget(process.env).kind).toBe(expected);
  });
});
