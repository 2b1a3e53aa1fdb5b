/**
 * A small longest-match scanner generator with the semantics of JFlex: rules are regular expressions
 * over UTF-16 code units, the scanner takes the longest match over all rules (a rule `r1 / r2` with
 * trailing context counts its context in the length), ties go to the rule listed first, and for
 * trailing context the token is the longest prefix matching `r1` whose remainder matches `r2`.
 *
 * Regular expressions are built with the combinators below (no parser); they compile to one Thompson
 * NFA whose DFA is built lazily, state by state, over equivalence classes of code units.
 *
 * @module
 */
import { FAIL_MEMO_MIN_RUN, type FailMemo } from "./fail_memo.ts";

/** A set of code units: sorted, disjoint, inclusive ranges `[lo0, hi0, lo1, hi1, ...]`. */
export type CharSet = readonly number[];

/** Regular expression tree. */
export type Re =
  | { readonly k: "set"; readonly set: CharSet }
  | { readonly k: "seq"; readonly items: readonly Re[] }
  | { readonly k: "alt"; readonly items: readonly Re[] }
  | { readonly k: "rep"; readonly item: Re; readonly min: number; readonly max: number };

const MAX_UNIT = 0xffff;

/** Normalises a list of inclusive ranges (any order, overlaps allowed) into a {@linkcode CharSet}. */
export function ranges(list: readonly (readonly [number, number])[]): CharSet {
  const sorted = [...list].sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [lo, hi] of sorted) {
    if (out.length > 0 && lo <= out[out.length - 1] + 1) {
      out[out.length - 1] = Math.max(out[out.length - 1], hi);
    } else {
      out.push(lo, hi);
    }
  }
  return out;
}

/** Union of character sets. */
export function union(...sets: CharSet[]): CharSet {
  const list: [number, number][] = [];
  for (const s of sets) for (let i = 0; i < s.length; i += 2) list.push([s[i], s[i + 1]]);
  return ranges(list);
}

/** Complement of a character set within 0..0xFFFF. */
export function complement(s: CharSet): CharSet {
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < s.length; i += 2) {
    if (s[i] > next) out.push(next, s[i] - 1);
    next = s[i + 1] + 1;
  }
  if (next <= MAX_UNIT) out.push(next, MAX_UNIT);
  return out;
}

/** Whether code unit `c` is in set `s` (binary search). */
export function contains(s: CharSet, c: number): boolean {
  let lo = 0, hi = (s.length >> 1) - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (c < s[2 * mid]) hi = mid - 1;
    else if (c > s[2 * mid + 1]) lo = mid + 1;
    else return true;
  }
  return false;
}

/** Parses a list of hexadecimal ranges such as `"41-5a 61-7a aa"` into a set. */
export function hexRanges(spec: string): CharSet {
  return ranges(
    spec.trim().split(/\s+/).map((r) => {
      const [a, b] = r.split("-");
      return [parseInt(a, 16), parseInt(b ?? a, 16)] as [number, number];
    }),
  );
}

/**
 * A character class written like the inside of a regex class: literal characters and `a-z` ranges;
 * a `-` first or last is literal. Escapes are not interpreted: write the characters themselves.
 */
export function chars(spec: string): CharSet {
  const list: [number, number][] = [];
  for (let i = 0; i < spec.length; i++) {
    const c = spec.charCodeAt(i);
    if (i + 2 < spec.length && spec[i + 1] === "-") {
      list.push([c, spec.charCodeAt(i + 2)]);
      i += 2;
    } else {
      list.push([c, c]);
    }
  }
  return ranges(list);
}

/** One character class as a regex. */
export function set(s: CharSet): Re {
  return { k: "set", set: s };
}

/** Class from {@linkcode chars} syntax. */
export function cls(spec: string): Re {
  return set(chars(spec));
}

/** Negated class from {@linkcode chars} syntax. */
export function notCls(spec: string): Re {
  return set(complement(chars(spec)));
}

/** Concatenation; strings are case-insensitive literals (see {@linkcode lit}). */
export function seq(...items: (Re | string)[]): Re {
  const rs = items.map((x) => (typeof x === "string" ? lit(x) : x));
  return rs.length === 1 ? rs[0] : { k: "seq", items: rs };
}

/** Alternation; strings are case-insensitive literals. */
export function alt(...items: (Re | string)[]): Re {
  const rs = items.map((x) => (typeof x === "string" ? lit(x) : x));
  return rs.length === 1 ? rs[0] : { k: "alt", items: rs };
}

/** Between `min` and `max` repetitions. */
export function rep(item: Re | string, min: number, max: number): Re {
  return { k: "rep", item: typeof item === "string" ? lit(item) : item, min, max };
}

/** Zero or more. */
export function star(item: Re | string): Re {
  return rep(item, 0, Infinity);
}

/** One or more. */
export function plus(item: Re | string): Re {
  return rep(item, 1, Infinity);
}

/** Zero or one. */
export function opt(item: Re | string): Re {
  return rep(item, 0, 1);
}

/**
 * Extra code units that JFlex's `%caseless` lets an ASCII letter match besides its two cases (the
 * simple case mappings of Java: U+0130/U+0131 for i, U+017F for s, U+212A for k).
 */
const CASELESS_EXTRA: Record<string, number[]> = { i: [0x130, 0x131], s: [0x17f], k: [0x212a] };

/**
 * A literal string matched like JFlex `%caseless` matches literals: every ASCII letter in either case
 * (plus its Unicode case variants), other characters exactly.
 */
export function lit(s: string): Re {
  const items: Re[] = [];
  for (const ch of s) {
    const lower = ch.toLowerCase(), upper = ch.toUpperCase();
    if (/^[a-zA-Z]$/.test(ch)) {
      const cs: [number, number][] = [[lower.charCodeAt(0), lower.charCodeAt(0)], [
        upper.charCodeAt(0),
        upper.charCodeAt(0),
      ]];
      for (const x of CASELESS_EXTRA[lower] ?? []) cs.push([x, x]);
      items.push(set(ranges(cs)));
    } else {
      const c = ch.charCodeAt(0);
      items.push(set([c, c]));
    }
  }
  return items.length === 1 ? items[0] : { k: "seq", items };
}

/** A literal string matched exactly (case-sensitive). */
export function exact(s: string): Re {
  const items: Re[] = [...s].map((ch) => set([ch.charCodeAt(0), ch.charCodeAt(0)]));
  return items.length === 1 ? items[0] : { k: "seq", items };
}

// ---------------------------------------------------------------------------------------------------
// NFA

/** Thompson NFA: state i has epsilon edges `eps[i]` and at most one set edge `edgeSet[i] -> edgeTo[i]`. */
class Nfa {
  eps: number[][] = [];
  edgeSet: (number | -1)[] = [];
  edgeTo: number[] = [];
  accept: number[] = [];
  sets: CharSet[] = [];
  private setIds = new Map<string, number>();

  newState(): number {
    this.eps.push([]);
    this.edgeSet.push(-1);
    this.edgeTo.push(-1);
    this.accept.push(-1);
    return this.eps.length - 1;
  }

  setId(s: CharSet): number {
    const key = s.join(",");
    let id = this.setIds.get(key);
    if (id === undefined) {
      id = this.sets.length;
      this.sets.push(s);
      this.setIds.set(key, id);
    }
    return id;
  }

  /** Adds `re` between fresh states; returns [start, end]. */
  build(re: Re): [number, number] {
    switch (re.k) {
      case "set": {
        const a = this.newState(), b = this.newState();
        this.edgeSet[a] = this.setId(re.set);
        this.edgeTo[a] = b;
        return [a, b];
      }
      case "seq": {
        const first = this.build(re.items[0]);
        let end = first[1];
        for (let i = 1; i < re.items.length; i++) {
          const [s, e] = this.build(re.items[i]);
          this.eps[end].push(s);
          end = e;
        }
        return [first[0], end];
      }
      case "alt": {
        const a = this.newState(), b = this.newState();
        for (const item of re.items) {
          const [s, e] = this.build(item);
          this.eps[a].push(s);
          this.eps[e].push(b);
        }
        return [a, b];
      }
      case "rep": {
        const a = this.newState();
        let end = a;
        for (let i = 0; i < re.min; i++) {
          const [s, e] = this.build(re.item);
          this.eps[end].push(s);
          end = e;
        }
        const b = this.newState();
        if (re.max === Infinity) {
          const [s, e] = this.build(re.item);
          this.eps[end].push(s, b);
          this.eps[e].push(s, b);
        } else {
          this.eps[end].push(b);
          for (let i = re.min; i < re.max; i++) {
            const [s, e] = this.build(re.item);
            this.eps[end].push(s);
            this.eps[e].push(b);
            end = e;
          }
        }
        return [a, b];
      }
    }
  }

  /** Epsilon closure of a set of states, returned sorted. */
  closure(states: Iterable<number>): number[] {
    const seen = new Set<number>();
    const stack = [...states];
    while (stack.length > 0) {
      const s = stack.pop()!;
      if (seen.has(s)) continue;
      seen.add(s);
      for (const t of this.eps[s]) if (!seen.has(t)) stack.push(t);
    }
    return [...seen].sort((a, b) => a - b);
  }
}

/** Whole-text matching of one regex (trailing-context checks), on its own lazily built DFA. */
class FullMatcher {
  private dfa: Scanner<null>;

  constructor(re: Re) {
    this.dfa = new Scanner([{ re, action: null }]);
  }

  /** Positions p in [from, to] such that the regex matches `text[from, p)`, as flags indexed by p - from. */
  acceptPositions(text: string, from: number, to: number): Uint8Array {
    return this.dfa.prefixAccepts(text, from, to);
  }

  matches(text: string, from: number, to: number): boolean {
    return this.dfa.matchesWhole(text, from, to);
  }

  /** Code units read so far. */
  get scanned(): number {
    return this.dfa.scanned;
  }
}

// ---------------------------------------------------------------------------------------------------
// Scanner

/** One rule of a scanner: `re`, optionally followed by trailing context `trail`, and its action. */
export interface Rule<T> {
  re: Re;
  trail?: Re;
  /** Called with the matched text (without trailing context); returns what the scanner yields. */
  action: T;
}

/** A match found by {@linkcode Scanner.match}: the rule index and the length of its text. */
export interface ScanMatch {
  rule: number;
  length: number;
}

const UNKNOWN = -2;
const DEAD = -1;

/** Longest-match scanner over a list of rules (JFlex semantics, see the module doc). */
export class Scanner<T> {
  readonly rules: readonly Rule<T>[];
  private nfa = new Nfa();
  private startNfa: number;
  /** Code unit -> equivalence class. */
  private classOf = new Uint16Array(MAX_UNIT + 1);
  /** A representative code unit of each class. */
  private repr: number[] = [];
  /** Per NFA set id: Uint8Array over classes, 1 when the class is inside the set. */
  private setHas: Uint8Array[] = [];
  /** DFA: per state its NFA states, the transitions per class and the accepted rule (-1 none). */
  private dfaStates: number[][] = [];
  private dfaTrans: Int32Array[] = [];
  private dfaAccept: number[] = [];
  private dfaIndex = new Map<string, number>();
  private trailing: ({ head: FullMatcher; tail: FullMatcher } | null)[];
  /** Scratch of {@linkcode match}: the DFA state at each position of the current scan. */
  private trail = new Int32Array(256);
  /** Code units read by {@linkcode match} so far (a work counter). */
  scanned = 0;

  constructor(rules: readonly Rule<T>[]) {
    this.rules = rules;
    this.startNfa = this.nfa.newState();
    rules.forEach((rule, i) => {
      const re = rule.trail ? seq(rule.re, rule.trail) : rule.re;
      const [s, e] = this.nfa.build(re);
      this.nfa.eps[this.startNfa].push(s);
      this.nfa.accept[e] = i;
    });
    this.trailing = rules.map((
      r,
    ) => (r.trail ? { head: new FullMatcher(r.re), tail: new FullMatcher(r.trail) } : null));
    this.buildClasses();
    this.dfaState(this.nfa.closure([this.startNfa]));
  }

  /** Partitions the code units into classes that no set of the NFA distinguishes. */
  private buildClasses(): void {
    const sets = this.nfa.sets;
    const cuts = new Set<number>([0]);
    for (const s of sets) {
      for (let i = 0; i < s.length; i += 2) {
        cuts.add(s[i]);
        if (s[i + 1] < MAX_UNIT) cuts.add(s[i + 1] + 1);
      }
    }
    const starts = [...cuts].sort((a, b) => a - b);
    const bySignature = new Map<string, number>();
    for (let k = 0; k < starts.length; k++) {
      const lo = starts[k], hi = k + 1 < starts.length ? starts[k + 1] - 1 : MAX_UNIT;
      let sig = "";
      for (const s of sets) sig += contains(s, lo) ? "1" : "0";
      let cls = bySignature.get(sig);
      if (cls === undefined) {
        cls = this.repr.length;
        this.repr.push(lo);
        bySignature.set(sig, cls);
      }
      this.classOf.fill(cls, lo, hi + 1);
    }
    for (const s of sets) {
      const has = new Uint8Array(this.repr.length);
      for (let c = 0; c < this.repr.length; c++) has[c] = contains(s, this.repr[c]) ? 1 : 0;
      this.setHas.push(has);
    }
  }

  private dfaState(states: number[]): number {
    if (states.length === 0) return DEAD;
    const key = states.join(",");
    let id = this.dfaIndex.get(key);
    if (id !== undefined) return id;
    id = this.dfaStates.length;
    this.dfaIndex.set(key, id);
    this.dfaStates.push(states);
    this.dfaTrans.push(new Int32Array(this.repr.length).fill(UNKNOWN));
    let accept = -1;
    for (const s of states) {
      const a = this.nfa.accept[s];
      if (a >= 0 && (accept < 0 || a < accept)) accept = a;
    }
    this.dfaAccept.push(accept);
    return id;
  }

  private step(state: number, cls: number): number {
    const next: number[] = [];
    for (const s of this.dfaStates[state]) {
      const id = this.nfa.edgeSet[s];
      if (id >= 0 && this.setHas[id][cls] === 1) next.push(this.nfa.edgeTo[s]);
    }
    const t = this.dfaState(this.nfa.closure(next));
    this.dfaTrans[state][cls] = t;
    return t;
  }

  /** Flags for p in [from, to]: 1 when some rule matches exactly `text[from, p)`. */
  prefixAccepts(text: string, from: number, to: number): Uint8Array {
    const out = new Uint8Array(to - from + 1);
    let state = 0;
    for (let i = from;; i++) {
      if (this.dfaAccept[state] >= 0) out[i - from] = 1;
      if (i === to) break;
      this.scanned++;
      const cls = this.classOf[text.charCodeAt(i)];
      let next = this.dfaTrans[state][cls];
      if (next === UNKNOWN) next = this.step(state, cls);
      if (next === DEAD) break;
      state = next;
    }
    return out;
  }

  /** Whether some rule matches exactly `text[from, to)` (reads until the DFA dies or `to`). */
  matchesWhole(text: string, from: number, to: number): boolean {
    let state = 0;
    for (let i = from; i < to; i++) {
      this.scanned++;
      const cls = this.classOf[text.charCodeAt(i)];
      let next = this.dfaTrans[state][cls];
      if (next === UNKNOWN) next = this.step(state, cls);
      if (next === DEAD) return false;
      state = next;
    }
    return this.dfaAccept[state] >= 0;
  }

  /**
   * The longest match at `pos` (ties to the earliest rule); for a rule with trailing context, `length`
   * is that of the token text without the context. Null when no rule matches. With a `memo` for `text`,
   * failing configurations are remembered and skipped ({@linkcode FailMemo}), which keeps a whole
   * tokenization linear; `scanned` counts the code units the DFA read.
   */
  match(text: string, pos: number, memo?: FailMemo): ScanMatch | null {
    let state = 0, bestRule = -1, bestEnd = -1, i = pos;
    let trail = this.trail;
    for (;; i++) {
      if (memo !== undefined) {
        if (memo.active && memo.has(state, i)) break;
        if (i - pos >= trail.length) {
          const bigger = new Int32Array(2 * trail.length);
          bigger.set(trail);
          this.trail = trail = bigger;
        }
        trail[i - pos] = state;
      }
      const a = this.dfaAccept[state];
      if (a >= 0) {
        bestRule = a;
        bestEnd = i;
      }
      if (i === text.length) break;
      this.scanned++;
      const cls = this.classOf[text.charCodeAt(i)];
      let next = this.dfaTrans[state][cls];
      if (next === UNKNOWN) next = this.step(state, cls);
      if (next === DEAD) break;
      state = next;
    }
    if (memo !== undefined) {
      // Every configuration after the last accept leads to no accept.
      const from = Math.max(pos, bestEnd + 1);
      if (i - from + 1 >= FAIL_MEMO_MIN_RUN) { for (let k = from; k <= i; k++) memo.add(trail[k - pos], k); }
    }
    if (bestRule < 0) return null;
    const t = this.trailing[bestRule];
    if (t === null) return { rule: bestRule, length: bestEnd - pos };
    // Longest head whose remainder matches the trailing context.
    const before = t.head.scanned + t.tail.scanned;
    const heads = t.head.acceptPositions(text, pos, bestEnd);
    for (let k = bestEnd; k >= pos; k--) {
      if (heads[k - pos] === 1 && t.tail.matches(text, k, bestEnd)) {
        this.scanned += t.head.scanned + t.tail.scanned - before;
        return { rule: bestRule, length: k - pos };
      }
    }
    throw new Error(`Scanner: no split of the trailing-context match of rule ${bestRule} at ${pos}`);
  }
}
