import assert from "node:assert/strict";
import { bertBaseConfig, configFromBertJson, dims, parseConfig, tinyConfig } from "./config.ts";
import { parameterTable } from "./params.ts";

Deno.test("bertBaseConfig has VLP's values and the parameter table has VLP's keys and sizes", () => {
  const d = dims(bertBaseConfig);
  assert.deepEqual([d.V, d.C, d.NL, d.NH, d.HS, d.I, d.R, d.F, d.G, d.A], [
    28996,
    768,
    12,
    12,
    64,
    3072,
    100,
    2048,
    1607,
    3129,
  ]);
  assert.equal(bertBaseConfig.typeVocabSize, 6);
  assert.equal(bertBaseConfig.layerNormEps, 1e-5);
  const t = parameterTable(bertBaseConfig, "vqa2");
  assert.deepEqual(t.get("vis_pe_embed.0.weight").shape, [768, 1607]);
  assert.deepEqual(t.get("ans_classifier.2.weight").shape, [3129, 1536]);
  assert.equal(t.get("cls.predictions.decoder.weight"), t.get("bert.embeddings.word_embeddings.weight"));
  // q, k, v weights and biases are packed for one GEMM
  const q = t.get("bert.encoder.layer.3.attention.self.query.weight");
  assert.equal(t.get("bert.encoder.layer.3.attention.self.value.weight").offset, q.offset + 2 * 768 * 768);
  const qb = t.get("bert.encoder.layer.3.attention.self.query.bias");
  assert.equal(t.get("bert.encoder.layer.3.attention.self.key.bias").offset, qb.offset + 768);
  // 116.9 M for captioning + 5.9 M for the VQA head
  assert.ok(t.count > 121.5e6 && t.count < 122.5e6, `${t.count} parameters`);
  // weight-decay groups as BertAdam's
  assert.equal(t.get("bert.encoder.layer.0.output.LayerNorm.weight").decay, false);
  assert.equal(t.get("vis_embed.0.bias").decay, false);
  assert.equal(t.get("vis_embed.0.weight").decay, true);
  assert.equal(parameterTable(bertBaseConfig).has("ans_classifier.0.weight"), false);
});

Deno.test("configFromBertJson() applies VLP's overrides and parseConfig() rejects bad values", () => {
  const c = configFromBertJson({
    vocab_size: 30522,
    hidden_size: 64,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 128,
    type_vocab_size: 2,
    layer_norm_eps: 1e-12,
    max_position_embeddings: 128,
  }, { hiddenDropout: 0.2 });
  assert.deepEqual([c.typeVocabSize, c.layerNormEps, c.maxPositions, c.hiddenDropout], [6, 1e-5, 128, 0.2]);
  assert.throws(
    () => parseConfig({ hiddenSize: 30, numHeads: 4 }),
    /numHeads: hiddenSize must be a multiple/,
  );
  assert.throws(() => parseConfig({ hiddenDropout: 1 }), TypeError);
  assert.throws(() => parseConfig({ nope: 1 } as never), TypeError);
  assert.throws(() => configFromBertJson({ vocab_size: 1 } as never), /hidden_size/);
  assert.equal(tinyConfig.hiddenSize, 32);
});

Deno.test("configFromBertJson() reads VLP's optional size keys for small synthetic models", () => {
  const c = configFromBertJson({
    vocab_size: 30,
    hidden_size: 8,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: 16,
    region_hidden_size: 12,
    region_feature_size: 64,
    region_geometry_size: 16,
    num_answers: 20,
  });
  assert.deepEqual(
    [c.regionHiddenSize, c.regionFeatureSize, c.regionGeometrySize, c.numAnswers],
    [12, 64, 16, 20],
  );
  assert.throws(
    () =>
      configFromBertJson({
        vocab_size: 30,
        hidden_size: 8,
        num_hidden_layers: 1,
        num_attention_heads: 2,
        intermediate_size: 16,
        region_hidden_size: -1,
      }),
    TypeError,
  );
});
