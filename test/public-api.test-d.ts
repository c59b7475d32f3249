/**
 * The public names, locked (CONVENTIONS §5, lesson 10): renaming or dropping an event a binding
 * sends, a method or property of `$presence` / the controller, a start option or a record field
 * fails `npm test` here before it reaches an app. Type-level only — `vitest --typecheck` checks
 * this file, nothing in it runs (see vitest.config.ts).
 */
import { describe, expectTypeOf, it } from 'vitest';
import type { ActorRefFrom, EventFromLogic } from 'xstate';
import {
  colorOf,
  createAppwriteTransport,
  createPresence,
  presence,
  sessionMachine,
  tabsMachine,
  type Identity,
  type Metadata,
  type PresenceController,
  type PresenceMagic,
  type PresenceRecord,
  type StartOptions,
} from '../src/index';

type SessionEventType = EventFromLogic<typeof sessionMachine>['type'];

describe('the session machine', () => {
  it('accepts the commands the bindings send, by these names', () => {
    expectTypeOf<
      | 'session.start'
      | 'session.set'
      | 'session.clear'
      | 'session.error'
      | 'session.stop'
      | 'session.signOut'
      | 'identity.changed'
      | 'team.changed'
    >().toExtend<SessionEventType>();
  });

  it('accepts what the page and the person\'s other tabs say, by these names', () => {
    expectTypeOf<'page.visible' | 'page.hidden' | 'page.hide' | 'page.freeze' | 'page.resume'>().toExtend<SessionEventType>();
    expectTypeOf<'tab.hidden' | 'tab.visible' | 'tabs.role' | 'tabs.signout' | 'tabs.quiet'>().toExtend<SessionEventType>();
  });

  it('accepts what a transport sends back, by these names', () => {
    expectTypeOf<'peer.upserted' | 'peer.deleted' | 'transport.connected' | 'transport.disconnected' | 'transport.warning'>().toExtend<SessionEventType>();
  });

  it('types each event: set carries a status string, identity a user or null', () => {
    expectTypeOf<Extract<EventFromLogic<typeof sessionMachine>, { type: 'session.set' }>['status']>().toEqualTypeOf<string>();
    expectTypeOf<Extract<EventFromLogic<typeof sessionMachine>, { type: 'identity.changed' }>['identity']>().toEqualTypeOf<Identity | null>();
  });

  it('is not typed loosely (a local setup() must keep xstate\'s types)', () => {
    expectTypeOf<SessionEventType>().not.toBeAny();
    expectTypeOf<'no.such.event'>().not.toExtend<SessionEventType>();
    expectTypeOf<EventFromLogic<typeof tabsMachine>['type']>().not.toBeAny();
  });
});

describe('$presence (PresenceMagic)', () => {
  it('has the documented properties', () => {
    expectTypeOf<PresenceMagic['list']>().toEqualTypeOf<PresenceRecord[]>();
    expectTypeOf<PresenceMagic['records']>().toEqualTypeOf<Record<string, PresenceRecord>>();
    expectTypeOf<PresenceMagic['me']>().toEqualTypeOf<string | null>();
    expectTypeOf<PresenceMagic['ready']>().toEqualTypeOf<boolean>();
    expectTypeOf<PresenceMagic['error']>().toEqualTypeOf<string | null>();
  });

  it('has the documented methods, each answering without throwing', () => {
    expectTypeOf<PresenceMagic['start']>().toEqualTypeOf<(options?: StartOptions) => Promise<boolean>>();
    expectTypeOf<PresenceMagic['set']>().toEqualTypeOf<(status: string, metadata?: Metadata) => Promise<boolean>>();
    expectTypeOf<PresenceMagic['of']>().toEqualTypeOf<(userId: string) => PresenceRecord | null>();
    expectTypeOf<PresenceMagic['all']>().toEqualTypeOf<() => PresenceRecord[]>();
    expectTypeOf<PresenceMagic['clear']>().toEqualTypeOf<() => Promise<boolean>>();
    expectTypeOf<PresenceMagic['stop']>().toEqualTypeOf<() => Promise<boolean>>();
    expectTypeOf<PresenceMagic['beforeSignOut']>().toEqualTypeOf<() => Promise<boolean>>();
  });

  it('takes the documented start options, all optional', () => {
    expectTypeOf<{}>().toExtend<StartOptions>();
    expectTypeOf<{ auto: boolean; status: string; heartbeatMs: number }>().toExtend<StartOptions>();
    expectTypeOf<{ idleMs: number }>().toExtend<StartOptions>();
    expectTypeOf<{ idleMs: false }>().toExtend<StartOptions>();
  });
});

describe('a presence record', () => {
  it('has exactly the documented fields', () => {
    expectTypeOf<keyof PresenceRecord>().toEqualTypeOf<'userId' | 'status' | 'metadata' | 'color' | 'lastSeen' | 'expiresAt'>();
    expectTypeOf<PresenceRecord['lastSeen']>().toEqualTypeOf<number>();
    expectTypeOf<PresenceRecord['expiresAt']>().toEqualTypeOf<string | null>();
    expectTypeOf<PresenceRecord['metadata']['name']>().toEqualTypeOf<string | null>();
    expectTypeOf<PresenceRecord['metadata']['color']>().toEqualTypeOf<string>();
  });
});

describe('the npm entry', () => {
  it('exports the plugin factory, the core, the transport and the colour', () => {
    expectTypeOf(presence).returns.toBeFunction();
    expectTypeOf(createPresence).returns.toEqualTypeOf<PresenceController>();
    expectTypeOf(createAppwriteTransport).toBeFunction();
    expectTypeOf(colorOf).toEqualTypeOf<(userId: string | null | undefined) => string>();
  });

  it('gives code outside Alpine window.ManifestPresence with $presence\'s methods, beforeSignOut included', () => {
    expectTypeOf<keyof NonNullable<Window['ManifestPresence']>>().toEqualTypeOf<'start' | 'stop' | 'set' | 'clear' | 'of' | 'all' | 'beforeSignOut'>();
    expectTypeOf<NonNullable<Window['ManifestPresence']>['beforeSignOut']>().toEqualTypeOf<() => Promise<boolean>>();
  });

  it('gives advanced apps the session actor itself', () => {
    expectTypeOf<PresenceController['actor']>().toEqualTypeOf<ActorRefFrom<typeof sessionMachine>>();
  });
});
