/**
 * The public entry describes the Appwrite SDK structurally (src/appwrite-types.ts) so its .d.ts
 * needs no `appwrite`. These checks keep that honest: the real SDK fits the structural types, and
 * the public option types name exactly the options the plugin and the transport take.
 */
import * as Appwrite from 'appwrite';
import { describe, expectTypeOf, it } from 'vitest';
import type { AppwriteClient, AppwriteRealtime, AppwriteSdk, AppwriteTransportConfig, PresencePluginOptions } from '../../src/index';
import type { PluginOptions } from '../../src/bindings/plugin';
import type { AppwriteTransportOptions } from '../../src/transport/appwrite';

describe('the structural Appwrite types', () => {
  it('accept the real SDK module, a client and a Realtime', () => {
    expectTypeOf<typeof Appwrite>().toExtend<AppwriteSdk>();
    expectTypeOf<Appwrite.Client>().toExtend<AppwriteClient>();
    expectTypeOf<Appwrite.Realtime>().toExtend<AppwriteRealtime>();
  });

  it('name the same options as the plugin and the transport', () => {
    expectTypeOf<keyof PresencePluginOptions>().toEqualTypeOf<keyof PluginOptions>();
    expectTypeOf<keyof AppwriteTransportConfig>().toEqualTypeOf<keyof AppwriteTransportOptions>();
  });

  it('require the SDK: presence() cannot silently go without it', () => {
    expectTypeOf<PresencePluginOptions['sdk']>().toEqualTypeOf<AppwriteSdk>();
    expectTypeOf<{ client: AppwriteClient }>().not.toExtend<PresencePluginOptions>();
  });
});
