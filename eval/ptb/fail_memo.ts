/**
 * Memory of scanner configurations known to fail, which makes longest-match tokenization linear
 * (T. Reps, "Maximal-munch tokenization in linear time", TOPLAS 1998).
 *
 * To find the longest token at a position, a JFlex-style scanner runs its DFA until the DFA dies and
 * then backs up to the last accepting position. Text like "a,a,a,...", where a rule (here PTBLexer's
 * e-mail rule) stays alive to the end without ever accepting, makes every token scan to the end of the
 * text: quadratic time. But the DFA is deterministic, so a (state, position) pair visited after the last
 * accept of a scan can never lead to an accept, whichever scan reaches it; remembering those pairs and
 * stopping any later scan that reaches one bounds the total work by (DFA states) x (text length). Short
 * failing runs are not remembered (they cost little, and normal text has nothing else), so the memo
 * stays empty and free on ordinary captions.
 *
 * @module
 */

/** Failing runs shorter than this many positions are not remembered. */
export const FAIL_MEMO_MIN_RUN = 32;

/** Failed (DFA state, position) pairs of one text. */
export class FailMemo {
  /** Whether anything is remembered (scanners check pairs only then). */
  active = false;
  /** One failed state per position (-1: none), and the further ones keyed `state * (length + 1) + pos`. */
  private first: Int32Array | null = null;
  private more = new Set<number>();

  constructor(private readonly length: number) {}

  has(state: number, pos: number): boolean {
    if (this.first![pos] === state) return true;
    return this.more.size > 0 && this.more.has(state * (this.length + 1) + pos);
  }

  add(state: number, pos: number): void {
    if (this.first === null) this.first = new Int32Array(this.length + 1).fill(-1);
    this.active = true;
    const f = this.first[pos];
    if (f === -1) this.first[pos] = state;
    else if (f !== state) this.more.add(state * (this.length + 1) + pos);
  }
}
