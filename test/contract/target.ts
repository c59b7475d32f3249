/**
 * Where the contract suite runs: a real Appwrite when APPWRITE_ENDPOINT, APPWRITE_PROJECT_ID and
 * APPWRITE_API_KEY are all set (`npm run test:appwrite`), otherwise a fresh emulator. `npm test`
 * pins the emulator (vitest.config.ts sets APPWRITE_CONTRACT_TARGET=emulator), so exported
 * credentials in a developer's shell never make the ordinary test run write to their project.
 */
export type ContractTarget =
  | { kind: 'appwrite'; endpoint: string; projectId: string; apiKey: string }
  | { kind: 'emulator'; reason: string };

export function contractTarget(env: Record<string, string | undefined>): ContractTarget {
  if (env.APPWRITE_CONTRACT_TARGET === 'emulator') return { kind: 'emulator', reason: 'APPWRITE_CONTRACT_TARGET=emulator' };
  const endpoint = env.APPWRITE_ENDPOINT?.trim();
  const projectId = env.APPWRITE_PROJECT_ID?.trim();
  const apiKey = env.APPWRITE_API_KEY?.trim();
  if (endpoint && projectId && apiKey) return { kind: 'appwrite', endpoint: endpoint.replace(/\/+$/, ''), projectId, apiKey };
  const missing = [['APPWRITE_ENDPOINT', endpoint], ['APPWRITE_PROJECT_ID', projectId], ['APPWRITE_API_KEY', apiKey]]
    .filter(([, value]) => !value)
    .map(([name]) => name);
  return { kind: 'emulator', reason: `${missing.join(', ')} not set` };
}
