/**
 * BERT WordPiece tokenizer, identical to the one VLP uses (cased and uncased vocabularies).
 *
 * @module
 */
export {};
