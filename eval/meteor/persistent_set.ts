/**
 * A persistent set of small non-negative integers (positions in a sentence): a 32-way trie whose leaves
 * are 32-bit masks (a set over at most 32 integers is just its mask). Adding copies only the nodes on one
 * root-to-leaf path, so search paths that differ in a few words share everything else; membership and
 * insertion cost O(log32 n).
 *
 * @module
 */

/** An internal node (children by 5-bit digit) or a leaf mask; undefined = empty. */
type Node = Node[] | number | undefined;

/** Persistent sets over `[0, size)`; a set is its root node (`undefined` = the empty set). */
export class PersistentSets {
  /** Internal levels above the leaves. */
  private readonly levels: number;

  constructor(size: number) {
    let levels = 0;
    while (32 ** (levels + 1) < size) levels++;
    this.levels = levels;
  }

  /** Whether `set` holds `x`. */
  has(set: unknown, x: number): boolean {
    let node = set as Node;
    const word = x >>> 5;
    for (let lvl = this.levels - 1; lvl >= 0 && node !== undefined; lvl--) {
      node = (node as Node[])[(word >>> (5 * lvl)) & 31];
    }
    return node !== undefined && (((node as number) >>> (x & 31)) & 1) === 1;
  }

  /** `set` with `x` added (`set` itself is unchanged). */
  add(set: unknown, x: number): unknown {
    return this.addAt(set as Node, x >>> 5, x & 31, this.levels - 1);
  }

  private addAt(node: Node, word: number, bit: number, lvl: number): Node {
    if (lvl < 0) return ((node as number | undefined) ?? 0) | (1 << bit);
    const copy = node === undefined ? new Array<Node>(32) : (node as Node[]).slice();
    const d = (word >>> (5 * lvl)) & 31;
    copy[d] = this.addAt(copy[d], word, bit, lvl - 1);
    return copy;
  }
}
