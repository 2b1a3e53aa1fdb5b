/**
 * A small builder of ONNX graphs on top of `onnx-proto` (protobufjs code generated from ONNX's published
 * `onnx.proto`): nodes with typed attributes, weights as initializers (float32, or float16 followed by a
 * Cast to float32), constants, inputs and outputs with symbolic dimensions, and the binary `ModelProto`
 * encoding. Nothing here writes protobuf by hand: `onnx.ModelProto.encode` does.
 *
 * @example Usage
 * ```ts
 * import { GraphBuilder } from "./graph_builder.ts";
 * import assert from "node:assert/strict";
 * const g = new GraphBuilder("mm");
 * const x = g.input("x", "float", ["N", 2]);
 * const y = g.op("MatMul", [x, g.weight("w", new Float32Array([1, 2, 3, 4]), [2, 2])]);
 * g.output(y, "y", "float", ["N", 2]);
 * assert.ok(g.encode({ opset: 17, producer: "test" }).length > 0);
 * ```
 *
 * @module
 */
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;

/** Element types used by the graphs. */
export type ElemType = "float" | "float16" | "int64";

const ELEM: Record<ElemType, number> = {
  float: onnx.TensorProto.DataType.FLOAT,
  float16: onnx.TensorProto.DataType.FLOAT16,
  int64: onnx.TensorProto.DataType.INT64,
};

/** The IR version of the schema `onnx-proto` ships (ONNX 1.10). */
export const IR_VERSION: number = onnx.Version.IR_VERSION;

/** An input or output of a graph: name, element type and dimensions. */
export interface ValueSpec {
  name: string;
  type: ElemType;
  dims: Dim[];
}

/** A dimension: a fixed size or a symbolic name (a dynamic axis such as "batch"). */
export type Dim = number | string;

/** An attribute value with its ONNX type made explicit. */
export type Attr =
  | { i: number }
  | { f: number }
  | { ints: readonly number[] };

/** Attribute helpers: `int(1)`, `float(1e-5)`, `ints([0, 2, 1, 3])`. */
export const int = (i: number): Attr => ({ i });
/** A FLOAT attribute. */
export const float = (f: number): Attr => ({ f });
/** An INTS attribute. */
export const ints = (v: readonly number[]): Attr => ({ ints: v });

/** Options of {@linkcode GraphBuilder.encode}. */
export interface EncodeOptions {
  /** Version of the default ("ai.onnx") operator set. */
  opset: number;
  producer: string;
  /** Free text stored as the model's doc_string. */
  doc?: string;
  /** key → value pairs stored as metadata_props. */
  metadata?: Record<string, string>;
}

/** Bytes of a typed array (no copy). */
function bytesOf(a: Float32Array | Float16Array | BigInt64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function valueInfo(name: string, elem: ElemType, dims: readonly Dim[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEM[elem],
        shape: { dim: dims.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

/** Collects the nodes, initializers, inputs and outputs of one graph. */
export class GraphBuilder {
  readonly name: string;
  /** Store weights as float16 (each followed by a Cast to float32). */
  readonly fp16: boolean;
  readonly #nodes: onnxProto.onnx.INodeProto[] = [];
  readonly #inits: onnxProto.onnx.ITensorProto[] = [];
  readonly #inputs: onnxProto.onnx.IValueInfoProto[] = [];
  readonly #outputs: onnxProto.onnx.IValueInfoProto[] = [];
  readonly #sig: { inputs: ValueSpec[]; outputs: ValueSpec[] } = { inputs: [], outputs: [] };
  readonly #names = new Set<string>();
  readonly #consts = new Map<string, string>();
  #counter = 0;

  constructor(name: string, opts: { fp16?: boolean } = {}) {
    this.name = name;
    this.fp16 = opts.fp16 ?? false;
  }

  /** A fresh value name `${hint}_${n}`. */
  fresh(hint: string): string {
    let n: string;
    do n = `${hint}_${this.#counter++}`; while (this.#names.has(n));
    this.#names.add(n);
    return n;
  }

  #claim(name: string): string {
    if (this.#names.has(name)) {
      throw new RangeError(`Cannot build graph "${this.name}": name "${name}" is taken`);
    }
    this.#names.add(name);
    return name;
  }

  /** A graph input. */
  input(name: string, elem: ElemType, dims: readonly Dim[]): string {
    this.#inputs.push(valueInfo(this.#claim(name), elem, dims));
    this.#sig.inputs.push({ name, type: elem, dims: [...dims] });
    return name;
  }

  /** Make `value` a graph output called `name` (through an Identity when the names differ). */
  output(value: string, name: string, elem: ElemType, dims: readonly Dim[]): void {
    if (value !== name) this.#node("Identity", [value], [this.#claim(name)], {});
    this.#outputs.push(valueInfo(name, elem, dims));
    this.#sig.outputs.push({ name, type: elem, dims: [...dims] });
  }

  /** The graph's inputs and outputs so far. */
  signature(): { inputs: ValueSpec[]; outputs: ValueSpec[] } {
    return structuredClone(this.#sig);
  }

  /** One node with one output; returns the output's name. */
  op(type: string, inputs: readonly string[], attrs: Record<string, Attr> = {}, hint?: string): string {
    const out = this.fresh(hint ?? type.toLowerCase());
    this.#node(type, inputs, [out], attrs);
    return out;
  }

  /** One node with `count` outputs; returns their names. */
  opN(type: string, inputs: readonly string[], count: number, attrs: Record<string, Attr> = {}): string[] {
    const outs = Array.from({ length: count }, () => this.fresh(type.toLowerCase()));
    this.#node(type, inputs, outs, attrs);
    return outs;
  }

  #node(type: string, inputs: readonly string[], outputs: string[], attrs: Record<string, Attr>): void {
    const T = onnx.AttributeProto.AttributeType;
    const attribute = Object.entries(attrs).map(([name, a]) => {
      if ("i" in a) return { name, type: T.INT, i: a.i };
      if ("f" in a) return { name, type: T.FLOAT, f: a.f };
      return { name, type: T.INTS, ints: [...a.ints] };
    });
    this.#nodes.push({ opType: type, input: [...inputs], output: outputs, attribute, name: outputs[0] });
  }

  /**
   * A float weight as an initializer called `name`; with fp16 it is stored as float16 and the returned
   * value is its Cast to float32 (ONNX Runtime folds the Cast when the session loads).
   */
  weight(name: string, data: Float32Array, dims: readonly number[]): string {
    if (data.length !== dims.reduce((a, b) => a * b, 1)) {
      throw new TypeError(
        `Cannot add weight "${name}": ${data.length} values do not fill shape [${dims.join(", ")}]`,
      );
    }
    this.#claim(name);
    if (!this.fp16) {
      this.#inits.push({ name, dims: [...dims], dataType: ELEM.float, rawData: bytesOf(data) });
      return name;
    }
    this.#inits.push({
      name,
      dims: [...dims],
      dataType: ELEM.float16,
      rawData: bytesOf(new Float16Array(data)),
    });
    return this.op("Cast", [name], { to: int(ELEM.float) }, `${name}_f32`);
  }

  /** A float32 constant (never converted to float16), shared between equal requests. */
  constFloat(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.#const("f", values, dims, () => ({
      dataType: ELEM.float,
      rawData: bytesOf(Float32Array.from(values)),
    }));
  }

  /** An int64 constant, shared between equal requests. */
  constInt(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.#const("i", values, dims, () => ({
      dataType: ELEM.int64,
      rawData: bytesOf(BigInt64Array.from(values.map((v) => BigInt(v)))),
    }));
  }

  #const(
    kind: string,
    values: readonly number[],
    dims: readonly number[],
    make: () => onnxProto.onnx.ITensorProto,
  ): string {
    const key = `${kind}:${dims.join("x")}:${values.join(",")}`;
    let name = this.#consts.get(key);
    if (!name) {
      name = this.fresh(`const_${kind}`);
      this.#inits.push({ name, dims: [...dims], ...make() });
      this.#consts.set(key, name);
    }
    return name;
  }

  /** Number of nodes so far. */
  get nodeCount(): number {
    return this.#nodes.length;
  }

  /** The binary ModelProto (IR version 8, the version of the schema `onnx-proto` ships). */
  encode(opts: EncodeOptions): Uint8Array {
    const model = onnx.ModelProto.fromObject({
      irVersion: IR_VERSION,
      opsetImport: [{ domain: "", version: opts.opset }],
      producerName: opts.producer,
      docString: opts.doc ?? "",
      metadataProps: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
      graph: {
        name: this.name,
        node: this.#nodes,
        initializer: this.#inits,
        input: this.#inputs,
        output: this.#outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

/** Decode a ModelProto (for inspection and tests). */
export function decodeModel(bytes: Uint8Array): onnxProto.onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}
