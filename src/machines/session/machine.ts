/**
 * The session: one person's presence in one tab, from `start()` to `stop()` and across the page's
 * life, as an XState machine (timing in `policy.ts`, parts in `implementations.ts`, what a new
 * session knows in `context.ts`).
 * - `tracking` runs five regions: the roster (listed once realtime connects or after 5 s, again
 *   on every reconnect and, while the link is down, every heartbeat; peer events buffered meanwhile),
 *   the status (entered as cleared, away or online by one rule: `status.choosing`), this tab's
 *   activity (idle after idleMs without input: to the person's tabs, an idle tab is a hidden one),
 *   one writer (one write in flight, latest wins) and the heartbeat.
 * - The person's tabs are a child actor (`tabs`) started for each identity: only the leader writes,
 *   and a sign-out or identity change in ANY tab tells the others before the row goes.
 * - Leaving a row (`switching`, `stopping`) waits for the write in flight, then deletes, retrying a
 *   transient failure. The page (`watchPage`) moves the session to `left` or `frozen`, and back.
 */
import { initialContext } from './context';
import { implementations, rowInput } from './implementations';
import type { SessionContext } from './types';

/** Tell the person's other tabs what they chose here, now or as their coordinator starts. */
const share = ['holdWish', 'shareWish'] as const;
const start = [{ guard: 'startInvalid', actions: 'rejectStart' }, { actions: ['reapplyStart', ...share] }] as const;
const set = [{ guard: 'setInvalid', actions: 'rejectSet' }, { actions: ['acceptSet', ...share] }] as const;
const clear = { actions: ['acceptClear', ...share] } as const;
/** Join the identity's tabs: a new identity gets a new coordinator, started here, because the machine says so. */
const joinTabs = ['dropTabs', 'spawnTabs', 'claimTabs'] as const;
const leaveTabs = ['dropTabs', 'forgetTabs'] as const;
/**
 * The page goes or freezes. While the session runs it comes back as it was when the page resumes;
 * while stopping, no restart survives it. The person's last tab hands its row to a keepalive delete.
 */
const pageLeaves = (running: boolean) => {
  const leave = ['stopWrite', 'hideSelf', { type: 'notePageLeft', params: { running } }] as const;
  return {
    'page.hide': [
      { guard: 'lastWriter', target: '#session.left', actions: ['sayFarewell', 'handOverToFarewell', ...leave] },
      { target: '#session.left', actions: leave },
    ],
    'page.freeze': { target: '#session.frozen', actions: leave },
  } as const;
};
/** A write that was in flight when the session left `tracking` settles here. */
const drain = {
  'xstate.done.actor.write': { actions: ['stopWrite', 'settleWrite', 'sampleRoundTrip'] },
  'xstate.error.actor.write': { actions: ['stopWrite', 'failWrite'] },
} as const;
/** The writer's write failed: refused because the session is gone is a sign-out, not a choice to retry. */
const writeFailed = [
  { guard: 'sessionGone', target: '#session.switching', actions: ['stopWrite', 'failWrite', 'sessionGoneHere', 'hideSelf'] },
  { target: 'cooling', actions: ['stopWrite', 'failWrite', 'showSelf'] },
] as const;
const listRoster = {
  id: 'loadRoster',
  src: 'loadRoster',
  input: ({ context }: { context: SessionContext }) => ({ teamId: context.teamId }),
  onDone: { target: 'live', actions: ['resetRoster', 'rosterLoaded'] },
  onError: [
    { guard: 'sessionGone', target: '#session.switching', actions: ['sessionGoneHere', 'hideSelf'] },
    { target: 'connecting', actions: 'listFailed' },
  ],
} as const;
/** A sign of the person on this page: the activity count starts over. */
const awake = { target: '.active', reenter: true } as const;
const resumeOrStop = { 'page.resume': [{ guard: 'resumable', target: '#session.starting' }, { target: '#session.stopped' }] } as const;

export const sessionMachine = implementations.createMachine({
  id: 'session',
  context: ({ input }) => initialContext(input),
  initial: 'idle',
  // The page is watched for the actor's whole life: visibility, pagehide, freeze, resume.
  // A literal id here would type `children.page` against xstate's index signature and break consumers' .d.ts checks.
  invoke: { id: 'page' as string, src: 'watchPage' },
  // Facts that hold whatever the lifecycle. XState v5 consults an ancestor's handler only when no
  // active state below handles the event, so every state that reacts to one of these notes it too.
  on: {
    'tab.hidden': { actions: 'noteVisibility' },
    'tab.visible': { actions: 'noteVisibility' },
    'page.hidden': { actions: ['notePage', 'tellPage'] },
    'page.visible': { actions: ['notePage', 'tellPage'] },
    'tabs.role': { actions: 'noteRole' },
    // Not tracking: nothing of ours is written any more, so the signing-out tab may go on at once.
    'tabs.signout': { actions: 'answerQuiet' },
    'team.changed': { actions: 'noteTeam' },
    'session.error': { actions: 'reportError' },
  },
  states: {
    idle: {
      entry: ['forgetRoster', ...leaveTabs],
      on: {
        'session.start': [{ guard: 'startInvalid', actions: 'rejectStart' }, { target: 'starting', actions: ['freshStart', ...share] }],
        'session.set': { actions: 'notRunning' },
        'session.clear': { actions: 'notRunning' },
        'session.stop': { actions: 'unwant' },
        'session.signOut': 'announcing',
        'identity.changed': { guard: 'resumes', target: 'tracking', actions: ['takeIdentity', ...joinTabs] },
      },
    },
    starting: {
      invoke: {
        id: 'identify',
        src: 'identify',
        onDone: [
          { guard: 'noSession', target: 'idle', actions: 'signInNeeded' },
          { target: 'tracking', actions: ['adoptIdentity', ...joinTabs] },
        ],
        onError: { target: 'idle', actions: 'startFailed' },
      },
      on: {
        'session.start': start,
        'session.set': set,
        'session.clear': clear,
        'session.stop': { target: 'stopped', actions: 'unwant' },
        'session.signOut': 'announcing',
        ...pageLeaves(true),
        'identity.changed': [
          { guard: 'signsOut', target: 'idle', actions: ['takeIdentity', 'pendingFail'] },
          { target: 'tracking', actions: ['takeIdentity', ...joinTabs] },
        ],
      },
    },
    tracking: {
      type: 'parallel',
      entry: ['beginTracking', 'showSelf'],
      on: {
        // `me` is null from here on; our own record leaves the roster with it.
        'session.stop': { target: 'stopping', actions: ['unwant', 'hideSelf'] },
        'session.signOut': { target: 'switching', actions: ['signOutHere', 'hideSelf'] },
        'tabs.signout': { target: 'switching', actions: ['yieldToSignOut', 'hideSelf'] },
        ...pageLeaves(true),
        'identity.changed': [
          { guard: 'sameUser', actions: ['renameSelf', 'showSelf'] },
          // `me` is null while the old identity goes (the new identity's row may be listed meanwhile).
          { target: 'switching', actions: ['leaveIdentity', 'hideSelf'] },
        ],
      },
      states: {
        roster: {
          initial: 'watching',
          states: {
            watching: {
              invoke: { id: 'watchPeers', src: 'watchPeers', input: ({ context }) => ({ teamId: context.teamId }) },
              initial: 'connecting',
              on: {
                // Most events are about others: only our own row's touch the context (an assign
                // copies it, which at 400 events/s was most of an event's cost).
                'peer.upserted': [{ guard: 'ownPeer', actions: ['notePeer', 'bufferPeer'] }, { actions: 'bufferPeer' }],
                'peer.deleted': [{ guard: 'ownPeer', actions: ['notePeer', 'bufferPeer'] }, { actions: 'bufferPeer' }],
                'transport.warning': { actions: 'noteWarning' },
                'transport.disconnected': { actions: 'linkDown' },
                'team.changed': [
                  // Appwrite tells only those who may read a row after a change, so the old
                  // audience would keep a ghost until expiry: delete the row first (its delete
                  // event reaches them), then publish for the new team.
                  { guard: 'leavesTeamRow', target: '#session.switching', actions: ['leaveTeam', 'forgetRoster'] },
                  { guard: 'teamDiffers', target: 'watching', reenter: true, actions: ['rescope', 'forgetRoster', 'showSelf'] },
                ],
                'session.start': { guard: 'startRescopes', target: 'watching', reenter: true, actions: ['rescope', 'forgetRoster', 'showSelf'] },
              },
              states: {
                connecting: {
                  after: { connectTimeout: { target: 'loading', actions: 'pollInstead' } },
                  on: { 'transport.connected': { target: 'loading', actions: 'linkUp' } },
                },
                loading: {
                  entry: 'clearBuffer',
                  invoke: listRoster,
                  on: { 'transport.connected': { target: 'loading', reenter: true, actions: 'linkUp' } },
                },
                live: {
                  // Only while live may the watcher apply others' events to the roster itself;
                  // leaving closes that before any event can arrive, so a list in flight buffers.
                  entry: 'openFeed',
                  exit: 'closeFeed',
                  // While the link is down nothing is pushed: list again every heartbeat.
                  after: { pollEvery: { guard: 'linkDown', target: 'resyncing', actions: 'pollInstead' } },
                  on: {
                    // Others' events come here only from a watcher without the direct feed.
                    'peer.upserted': [{ guard: 'ownPeer', actions: ['notePeer', 'applyPeer'] }, { actions: 'applyPeer' }],
                    'peer.deleted': [{ guard: 'ownPeer', actions: ['notePeer', 'applyPeer'] }, { actions: 'applyPeer' }],
                    'transport.connected': { target: 'resyncing', actions: ['linkUp', 'markDue'] },
                    'transport.disconnected': { target: 'live', reenter: true, actions: 'linkDown' },
                  },
                },
                resyncing: {
                  entry: 'clearBuffer',
                  invoke: listRoster,
                  on: { 'transport.connected': { target: 'resyncing', reenter: true, actions: ['linkUp', 'markDue'] } },
                },
              },
            },
          },
        },
        // What the person shows: entered — and re-entered after every accepted command or reverted
        // write — through `choosing`, the one rule for cleared, away or online.
        status: {
          initial: 'choosing',
          on: {
            'session.start': [{ guard: 'startInvalid', actions: 'rejectStart' }, { target: '.choosing', actions: ['reapplyStart', ...share, 'showSelf'] }],
            'session.set': [{ guard: 'setInvalid', actions: 'rejectSet' }, { target: '.choosing', actions: ['acceptSet', ...share, 'showSelf'] }],
            'session.clear': { target: '.choosing', actions: ['acceptClear', ...share, 'showSelf'] },
            'xstate.error.actor.write': { guard: 'failureReverts', target: '.choosing' },
          },
          states: {
            choosing: {
              always: [{ guard: 'entersCleared', target: 'cleared' }, { guard: 'entersAway', target: 'away' }, { target: 'online' }],
            },
            online: { on: { 'tab.hidden': { guard: 'autoAway', target: 'away', actions: ['noteVisibility', 'showSelf'] } } },
            away: { on: { 'tab.visible': { target: 'online', actions: ['noteVisibility', 'showSelf'] } } },
            cleared: {},
          },
        },
        // This tab's activity: input or the page shown again restarts the count (a new idleMs
        // counts from then); idleMs without either (0: never) makes the tab idle, which the
        // coordinator counts as hidden: the person is `away` once no tab is visible and active.
        activity: {
          initial: 'active',
          // The page shown is noted here as well as at the root (see `on` there).
          on: { 'page.input': awake, 'page.visible': { target: '.active', reenter: true, actions: ['notePage', 'tellPage'] } },
          states: {
            active: { after: { idleAfter: { guard: 'idles', target: 'idle' } } },
            idle: { entry: 'tellIdle', exit: 'tellPage' },
          },
        },
        writer: {
          initial: 'idle',
          states: {
            idle: {
              always: [
                { guard: 'publishDue', target: 'publishing' },
                { guard: 'removeDue', target: 'removing' },
              ],
            },
            publishing: {
              entry: ['beginPublish', 'spawnPublish'],
              on: {
                'xstate.done.actor.write': {
                  target: 'cooling',
                  actions: ['stopWrite', 'settleWrite', 'sampleRoundTrip', 'rewriteOffLifetime', 'showSelf'],
                },
                'xstate.error.actor.write': writeFailed,
              },
            },
            removing: {
              entry: ['beginRemove', 'spawnRemove'],
              on: {
                'xstate.done.actor.write': { target: 'cooling', actions: ['stopWrite', 'settleWrite'] },
                'xstate.error.actor.write': writeFailed,
              },
            },
            cooling: { after: { writeGap: 'idle' } },
          },
        },
        heartbeat: {
          initial: 'off',
          states: {
            off: {
              always: [
                { guard: 'beatsHidden', target: 'waiting.hidden' },
                { guard: 'beats', target: 'waiting' },
              ],
            },
            // One timer at a time, with the cadence of the moment (policy.ts, `beatsSlowly`: nobody
            // looking and this page hidden): slowing re-arms at once rather than letting a
            // visible-rate timer run out in a throttled page, and writes the row's longer expiry now.
            waiting: {
              initial: 'visible',
              always: { guard: 'silent', target: 'off' },
              states: {
                visible: {
                  always: { guard: 'slowly', target: 'hidden', actions: 'markDue' },
                  after: { heartbeatEvery: { target: 'visible', reenter: true, actions: 'markDue' } },
                  // Every confirmed write refreshes the row, so the next beat counts from it.
                  on: { 'xstate.done.actor.write': { target: 'visible', reenter: true } },
                },
                hidden: {
                  always: { guard: 'quickly', target: 'visible' },
                  after: { hiddenHeartbeatEvery: { target: 'hidden', reenter: true, actions: 'markDue' } },
                  on: { 'xstate.done.actor.write': { target: 'hidden', reenter: true } },
                },
              },
            },
          },
        },
      },
    },
    // Leaving the row of an identity or a team: tell the person's other tabs when it is this tab's
    // sign-out, let the write in flight land, delete the row, then go on as whoever is next. The
    // writer's backoff belongs to the old identity or team: the switch starts and ends with none.
    switching: {
      initial: 'quieting',
      entry: 'resetFailures',
      exit: ['resetFailures', 'endLeaving'],
      on: {
        'session.start': start,
        'session.set': set,
        'session.clear': clear,
        // The row still goes; then the session stops instead of tracking again.
        'session.stop': { actions: 'unwant' },
        // Signing out after the quieting is over: tell the other tabs now (the row still goes here).
        'session.signOut': { actions: ['signOutHere', 'announceSignOut'] },
        // Another tab signs out during a team switch: yield instead of publishing for the new team.
        'tabs.signout': { guard: 'notAnnouncing', actions: 'yieldToSignOut' },
        ...pageLeaves(true),
        'identity.changed': { actions: ['takeIdentity', 'hideSelf'] },
      },
      states: {
        // The other tabs stop writing (the leader deletes the row) and answer; a crashed one is waited for in vain only briefly.
        quieting: {
          entry: 'announceSignOut',
          always: { guard: 'notAnnouncing', target: 'draining' },
          after: { quietTimeout: 'draining' },
          on: { 'tabs.quiet': 'draining' },
        },
        draining: {
          always: [
            { guard: 'removesOnLeave', target: 'removing', actions: 'resetFailures' },
            { guard: 'writeSettled', target: 'done' },
          ],
          on: drain,
        },
        removing: {
          invoke: {
            id: 'removeRow',
            src: 'remove',
            input: rowInput,
            onDone: { target: 'done', actions: 'rowRemoved' },
            // Best effort after a blip or two, and silent (it is the old audience's cleanup); a
            // refusal means the old session is gone already, and the row expires on its own.
            onError: [{ guard: 'removeRetries', target: 'retrying', actions: 'countFailure' }, { target: 'done' }],
          },
        },
        retrying: { after: { writeGap: 'removing' } },
        done: {
          always: [
            { guard: 'yielded', target: '#session.idle', actions: ['answerQuiet', 'pendingFail'] },
            { guard: 'signedOut', target: '#session.idle', actions: 'pendingFail' },
            { guard: 'unwanted', target: '#session.stopped' },
            { guard: 'tabsCurrent', target: '#session.tracking' },
            { target: '#session.tracking', actions: joinTabs },
          ],
        },
      },
    },
    // A sign-out from a tab that is not tracking: learn who it is, and tell that person's tabs,
    // which stop writing and delete the row while the session still works.
    announcing: {
      initial: 'identifying',
      entry: 'beginAnnouncing',
      exit: ['endLeaving', 'forgetIdentity'],
      states: {
        identifying: {
          invoke: {
            id: 'identify',
            src: 'identify',
            // The coordinator starts asking the other tabs at once (it is not there to be told yet).
            onDone: [{ guard: 'noSession', target: '#session.idle' }, { target: 'quieting', actions: ['adoptIdentity', 'dropTabs', 'spawnTabsToSignOut', 'claimTabs'] }],
            onError: '#session.idle',
          },
        },
        quieting: {
          after: { quietTimeout: '#session.idle' },
          on: { 'tabs.quiet': '#session.idle' },
        },
      },
    },
    stopping: {
      initial: 'draining',
      on: {
        'session.start': [{ guard: 'startInvalid', actions: 'rejectStart' }, { actions: ['freshStart', ...share, 'requestRestart'] }],
        'session.set': [
          { guard: 'setInvalid', actions: 'rejectSet' },
          { guard: 'restartRequested', actions: ['acceptSet', ...share] },
          { actions: 'notRunning' },
        ],
        'session.clear': [{ guard: 'restartRequested', actions: ['acceptClear', ...share] }, { actions: 'notRunning' }],
        // A sign-out here, or in another tab, while stopping: the row goes whoever else is open, and
        // the other tabs are told (here) or answered once our write has landed (there).
        'session.signOut': { actions: ['signOutHere', 'clearRestart', 'announceSignOut'] },
        'tabs.signout': { actions: ['yieldToSignOut', 'clearRestart'] },
        // The page goes: the keepalive delete takes over, and no restart survives it.
        ...pageLeaves(false),
      },
      states: {
        draining: {
          always: [
            { guard: 'removesOnStop', target: 'removing', actions: 'resetFailures' },
            { guard: 'writeSettled', target: '#session.stopped', actions: 'handOverRow' },
          ],
          on: drain,
        },
        removing: {
          invoke: {
            id: 'removeRow',
            src: 'remove',
            input: rowInput,
            onDone: { target: '#session.stopped', actions: 'rowRemoved' },
            onError: [
              { guard: 'removeRetries', target: 'retrying', actions: 'removeFailed' },
              { target: '#session.stopped', actions: 'removeFailed' },
            ],
          },
        },
        // A restart asked meanwhile writes the row again anyway: no need to delete it first.
        retrying: {
          always: { guard: 'restartRequested', target: '#session.stopped' },
          after: { writeGap: 'removing' },
        },
      },
    },
    stopped: {
      entry: ['forgetRoster', 'shutDown', 'answerIfYielded', 'endLeaving', ...leaveTabs],
      always: { guard: 'restartRequested', target: 'starting', actions: 'clearRestart' },
      on: {
        'session.start': [{ guard: 'startInvalid', actions: 'rejectStart' }, { target: 'starting', actions: ['freshStart', ...share] }],
        'session.set': { actions: 'notRunning' },
        'session.clear': { actions: 'notRunning' },
        'session.signOut': 'announcing',
      },
    },
    // The page went (pagehide). From the back/forward cache it may come back: then it starts again as it was.
    left: {
      entry: [...leaveTabs, 'forgetRoster', 'shutDown'],
      exit: 'endFarewell',
      on: resumeOrStop,
    },
    // The browser froze the page: this tab has stepped down; it starts again as it was on resume.
    frozen: {
      entry: [...leaveTabs, 'forgetRoster', 'shutDown'],
      on: resumeOrStop,
    },
  },
});

export type SessionMachine = typeof sessionMachine;
