/**
 * English non-breaking prefixes of Meteor 1.5's normalizer (its `nonbreaking/english.prefixes`, taken
 * from the Moses tokenizer): a word ending in "." whose prefix is listed keeps its period. Prefixes
 * marked numeric-only keep it only before a number.
 *
 * @module
 */

/** Prefixes that never end a sentence. */
export const NONBREAKING_ANY: readonly string[] = [
  ..."ABCDEFGHIJKLMNOPQRSTUVWXYZ",
  ..."Adj Adm Adv Asst Bart Bldg Brig Bros Capt Cmdr Col Comdr Con Corp Cpl DR Dr Drs Ens Gen Gov Hon Hr Hosp"
    .split(" "),
  ..."Insp Lt MM MR MRS MS Maj Messrs Mlle Mme Mr Mrs Ms Msgr Op Ord Pfc Ph Prof Pvt Rep Reps Res Rev Rt Sen"
    .split(" "),
  ..."Sens Sfc Sgt Sr St Supt Surg v vs i.e rev e.g Nos Nr".split(" "),
];

/** Prefixes that keep their period only before a number. */
export const NONBREAKING_NUMERIC: readonly string[] = ["No", "Art", "pp"];
