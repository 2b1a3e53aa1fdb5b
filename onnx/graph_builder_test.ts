import assert from "node:assert/strict";
import onnxProto from "onnx-proto";
import { decodeModel, float, GraphBuilder, int, IR_VERSION } from "./graph_builder.ts";

const { onnx } = onnxProto;

Deno.test("GraphBuilder encodes nodes, typed attributes, shared constants and symbolic dims", () => {
  const g = new GraphBuilder("t");
  const x = g.input("x", "float", ["batch", 3]);
  const w = g.weight("w", new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
  const y = g.op("Gemm", [x, w], { transB: int(1), alpha: float(0.5) });
  assert.equal(g.constInt([1, 2]), g.constInt([1, 2])); // shared
  assert.notEqual(g.constInt([1, 2]), g.constInt([1, 2], [2, 1]));
  g.output(y, "y", "float", ["batch", 2]);
  const m = decodeModel(g.encode({ opset: 17, producer: "test", metadata: { k: "v" } }));
  assert.equal(Number(m.irVersion), IR_VERSION);
  assert.equal(Number(m.opsetImport![0].version), 17);
  assert.deepEqual(m.metadataProps!.map((p) => [p.key, p.value]), [["k", "v"]]);
  const gemm = m.graph!.node!.find((n) => n.opType === "Gemm")!;
  const attrs = Object.fromEntries(gemm.attribute!.map((a) => [a.name, a]));
  assert.equal(Number(attrs.transB!.i), 1);
  assert.equal(attrs.transB!.type, onnx.AttributeProto.AttributeType.INT);
  assert.equal(attrs.alpha!.f, 0.5);
  assert.equal(m.graph!.input![0].type!.tensorType!.shape!.dim![0].dimParam, "batch");
  assert.equal(Number(m.graph!.output![0].type!.tensorType!.shape!.dim![1].dimValue), 2);
  const init = m.graph!.initializer!.find((t) => t.name === "w")!;
  assert.deepEqual([...new Float32Array(new Uint8Array(init.rawData!).buffer)], [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(g.signature().outputs, [{ name: "y", type: "float", dims: ["batch", 2] }]);
});

Deno.test("GraphBuilder with fp16 stores float16 weights followed by a Cast to float32", () => {
  const g = new GraphBuilder("t", { fp16: true });
  const w = g.weight("w", new Float32Array([0.1, 2, -3]), [3]);
  assert.notEqual(w, "w");
  const m = decodeModel(g.encode({ opset: 17, producer: "test" }));
  const init = m.graph!.initializer![0];
  assert.equal(init.dataType, onnx.TensorProto.DataType.FLOAT16);
  assert.deepEqual([...new Float16Array(new Uint8Array(init.rawData!).buffer)], [Math.f16round(0.1), 2, -3]);
  const cast = m.graph!.node![0];
  assert.equal(cast.opType, "Cast");
  assert.equal(Number(cast.attribute![0].i), onnx.TensorProto.DataType.FLOAT);
});

Deno.test("GraphBuilder rejects a taken name and a weight that does not fill its shape", () => {
  const g = new GraphBuilder("t");
  g.input("x", "float", [1]);
  assert.throws(() => g.input("x", "float", [1]), RangeError);
  assert.throws(() => g.weight("w", new Float32Array(5), [2, 3]), TypeError);
});
