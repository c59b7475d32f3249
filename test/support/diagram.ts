/**
 * Machine → Mermaid `stateDiagram-v2`, from xstate/graph's `toDirectedGraph` (CONVENTIONS, "Machine
 * to diagram"). Ids contain dots, so every state is declared as `state "key" as alias`; compound
 * states nest, parallel regions are separated by `--`, initial states get `[*] -->` and final ones
 * `--> [*]`. Labels are prettified (`after writeGap`, `identify done`, `event [guard]`), eventless
 * transitions read `always [guard]`, and the machine's own handlers are drawn once from an
 * `(any state)` pseudo-state. A test helper: the diagrams are checked-in artefacts, not package code.
 */
import type { AnyStateMachine } from 'xstate';
import { toDirectedGraph } from 'xstate/graph';

type GraphNode = ReturnType<typeof toDirectedGraph>;
type StateNodeLike = GraphNode['stateNode'];
type Transition = GraphNode['edges'][number]['transition'];

interface Edge {
  source: StateNodeLike;
  target: StateNodeLike;
  transition: Transition;
}

/** Mermaid alias of a state node (`session.tracking.status` → `session_tracking_status`). */
export function aliasOf(id: string): string {
  return id.replace(/[^A-Za-z0-9_]/g, '_');
}

/** `after writeGap`, `identify done`, `write error`, `always`, with `[guard]` when guarded. */
export function labelOf(transition: Transition): string {
  const event = (transition.eventType === '' ? 'always' : transition.eventType)
    .replace(/^xstate\.after\.([^.]+)\..*$/, 'after $1')
    .replace(/^xstate\.done\.actor\.(.+)$/, '$1 done')
    .replace(/^xstate\.error\.actor\.(.+)$/, '$1 error');
  const guard = transition.guard === undefined ? '' : guardName(transition.guard);
  return guard ? `${event} [${guard}]` : event;
}

/** Named guard: its name; parameterized: its type; and/or/not: spelled out; inline: `guard`. */
function guardName(guard: unknown): string {
  if (typeof guard === 'string') return guard;
  const g = guard as { type?: unknown; guards?: unknown[]; check?: { name?: string }; name?: string };
  if (typeof guard === 'function' && Array.isArray(g.guards)) {
    const parts = g.guards.map(guardName);
    switch (g.check?.name) {
      case 'checkAnd':
        return parts.join(' and ');
      case 'checkOr':
        return parts.join(' or ');
      case 'checkNot':
        return `not ${parts.join(' ')}`;
    }
  }
  if (typeof guard === 'object' && guard !== null && typeof g.type === 'string') return g.type;
  return 'guard';
}

/** Every transition of the node: `on`, `after`, invoke done/error (from the graph) and `always`. */
function edgesOf(node: GraphNode): Edge[] {
  const edges: Edge[] = node.edges.map((e) => ({ source: e.source, target: e.target, transition: e.transition }));
  for (const t of node.stateNode.always ?? []) {
    for (const target of t.target ?? [node.stateNode]) edges.push({ source: node.stateNode, target, transition: t });
  }
  return edges;
}

function ancestors(node: StateNodeLike): StateNodeLike[] {
  const chain: StateNodeLike[] = [];
  for (let n: StateNodeLike | undefined = node; n; n = n.parent) chain.unshift(n);
  return chain;
}

/** Where an edge is written: the innermost common compound (not parallel) ancestor of both ends. */
function scopeOf(edge: Edge, root: StateNodeLike): StateNodeLike {
  const a = ancestors(edge.source);
  const b = ancestors(edge.target);
  let scope = root;
  for (let i = 0; i < Math.min(a.length, b.length) && a[i] === b[i]; i++) {
    const n = a[i]!;
    // An edge inside a `--` section would belong to that section only: parallel scopes go up.
    if (n.type !== 'parallel' && n !== edge.source && n !== edge.target) scope = n;
  }
  return scope;
}

/**
 * @example
 * await expect(toMermaid(sessionMachine)).toMatchFileSnapshot('../diagrams/session.mmd');
 */
export function toMermaid(machine: AnyStateMachine): string {
  const graph = toDirectedGraph(machine);
  const root = graph.stateNode;
  const all: GraphNode[] = [];
  const visit = (n: GraphNode) => {
    all.push(n);
    n.children.forEach(visit);
  };
  visit(graph);

  const edgesByScope = new Map<StateNodeLike, Edge[]>();
  const rootEdges: Edge[] = [];
  for (const node of all) {
    for (const edge of edgesOf(node)) {
      if (edge.source === root) rootEdges.push(edge);
      else {
        const scope = scopeOf(edge, root);
        edgesByScope.set(scope, [...(edgesByScope.get(scope) ?? []), edge]);
      }
    }
  }

  const lines: string[] = ['stateDiagram-v2'];
  const line = (depth: number, text: string) => lines.push(`${'  '.repeat(depth)}${text}`);
  const edgeLines = (depth: number, scope: StateNodeLike) => {
    for (const e of edgesByScope.get(scope) ?? []) {
      line(depth, `${aliasOf(e.source.id)} --> ${aliasOf(e.target.id)} : ${labelOf(e.transition)}`);
    }
  };

  const declare = (node: GraphNode, depth: number) => {
    const sn = node.stateNode;
    const alias = aliasOf(sn.id);
    if (node.children.length === 0) {
      line(depth, `state "${sn.key}" as ${alias}`);
      return;
    }
    line(depth, `state "${sn.key}" as ${alias} {`);
    body(node, depth + 1);
    line(depth, '}');
  };

  const body = (node: GraphNode, depth: number) => {
    const sn = node.stateNode;
    if (sn.type === 'parallel') {
      node.children.forEach((region, i) => {
        if (i > 0) line(depth, '--');
        declare(region, depth);
      });
      return;
    }
    for (const child of node.children) declare(child, depth);
    const initial = sn.initial?.target?.[0];
    if (initial) line(depth, `[*] --> ${aliasOf(initial.id)}`);
    for (const child of node.children) if (child.stateNode.type === 'final') line(depth, `${aliasOf(child.stateNode.id)} --> [*]`);
    edgeLines(depth, sn);
  };

  body(graph, 1);
  if (rootEdges.length > 0) {
    const any = `${aliasOf(root.id)}__any`;
    line(1, `state "(any state)" as ${any}`);
    for (const e of rootEdges) {
      const target = e.target === root ? any : aliasOf(e.target.id);
      line(1, `${any} --> ${target} : ${labelOf(e.transition)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
