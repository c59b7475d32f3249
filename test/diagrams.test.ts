/**
 * The checked-in diagrams (`diagrams/*.mmd`) are generated from the machines: a hand edit or a
 * machine change without `vitest -u` fails here. One line per machine.
 */
import { describe, expect, it } from 'vitest';
import type { AnyStateMachine } from 'xstate';
import { getStateNodes } from 'xstate/graph';
import { readFileSync } from 'node:fs';
import { peerMachine } from '../src/machines/peer';
import { sessionMachine } from '../src/machines/session';
import { tabsMachine } from '../src/machines/tabs';
import { aliasOf, toMermaid } from './support/diagram';

const machines: [name: string, machine: AnyStateMachine][] = [
  ['session', sessionMachine],
  ['tabs', tabsMachine],
  ['peer', peerMachine],
];

describe('docs/how-it-works.md (linked from the README)', () => {
  it('embeds the current session diagram', () => {
    const page = readFileSync(new URL('../docs/how-it-works.md', import.meta.url), 'utf8');
    expect(page).toContain('```mermaid\n' + toMermaid(sessionMachine) + '```');
  });
});

describe.each(machines)('diagrams/%s.mmd', (name, machine) => {
  const mermaid = toMermaid(machine);

  it('matches the generated file', async () => {
    await expect(mermaid).toMatchFileSnapshot(`../diagrams/${name}.mmd`);
  });

  it('declares every state once, nested in balanced blocks', () => {
    const lines = mermaid.split('\n');
    expect(lines[0]).toBe('stateDiagram-v2');
    for (const node of getStateNodes(machine.root)) {
      const declarations = lines.filter((l) => l.trim().startsWith(`state "${node.key}" as ${aliasOf(node.id)}`));
      expect(declarations, node.id).toHaveLength(1);
    }
    let depth = 0;
    for (const l of lines) {
      if (l.trimEnd().endsWith('{')) depth++;
      if (l.trim() === '}') depth--;
      expect(depth).toBeGreaterThanOrEqual(0);
    }
    expect(depth).toBe(0);
  });

  it('draws only arrows between declared states, each with a label', () => {
    const declared = new Set([...mermaid.matchAll(/ as (\S+)/g)].map((m) => m[1]!));
    const arrows = mermaid.split('\n').filter((l) => l.includes('-->'));
    expect(arrows.length).toBeGreaterThan(0);
    for (const arrow of arrows) {
      const m = /^\s*(\S+) --> (\S+)(?: : (.+))?$/.exec(arrow);
      expect(m, arrow).not.toBeNull();
      const [, from, to, label] = m!;
      if (from !== '[*]') expect(declared.has(from!), arrow).toBe(true);
      if (to !== '[*]') expect(declared.has(to!), arrow).toBe(true);
      if (from !== '[*]' && to !== '[*]') expect(label, arrow).toMatch(/\S/);
    }
  });
});
