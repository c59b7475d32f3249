// Alpine ships no types; the tests use the real module through this small surface.
declare module 'alpinejs' {
  interface Alpine {
    start(): void;
    reactive<T extends object>(value: T): T;
    magic(name: string, callback: (el: unknown) => unknown): void;
    initTree(el: Element): void;
    destroyTree(el: Element): void;
    evaluate(el: Element, expression: string): unknown;
    store(name: string, value?: unknown): unknown;
    effect(callback: () => void): unknown;
    release(effect: unknown): void;
  }
  const Alpine: Alpine;
  export default Alpine;
}
