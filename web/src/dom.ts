/** Small DOM helpers shared by the page's sections. */
export const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`missing #${id}`);
  return element as T;
};

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<Record<string, string>> = {},
  ...children: Array<Node | string>
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) if (value !== undefined) element.setAttribute(key, value);
  element.append(...children);
  return element;
}

/** Sets text only when it changed (no needless layout, no lost selection). */
export function setText(node: Node, text: string): void {
  if (node.textContent !== text) node.textContent = text;
}

/**
 * Keeps `parent`'s children in the order of `nodes`, moving only those out of place, so that
 * elements that stay (and a button under the pointer) are never rebuilt.
 */
export function placeInOrder(parent: HTMLElement, nodes: HTMLElement[]): void {
  nodes.forEach((node, index) => {
    if (parent.children[index] !== node) parent.insertBefore(node, parent.children[index] ?? null);
  });
  while (parent.children.length > nodes.length) parent.lastElementChild?.remove();
}
