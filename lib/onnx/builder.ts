/**
 * A small ONNX graph builder over the protobufjs schema of `onnx-proto`: nodes with unique
 * names, typed attributes, and initializers stored as raw little-endian bytes. It knows
 * nothing about TRM; `exporter.ts` writes the model with it.
 */
import { onnx } from 'onnx-proto';

export type Attr = onnx.IAttributeProto;

const AttrType = onnx.AttributeProto.AttributeType;
const DataType = onnx.TensorProto.DataType;

export const attr = {
  int: (name: string, i: number): Attr => ({ name, type: AttrType.INT, i }),
  ints: (name: string, ints: number[]): Attr => ({ name, type: AttrType.INTS, ints }),
  float: (name: string, f: number): Attr => ({ name, type: AttrType.FLOAT, f }),
};

/** One axis of a graph input or output: a fixed size or a named dynamic dimension. */
export type Dim = number | string;

function littleEndianBytes(view: ArrayBufferView): Uint8Array {
  // Typed arrays use the platform's byte order and ONNX raw_data is little-endian; every
  // platform Node ships prebuilt binaries for is little-endian, so this is a copy, not a swap.
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  return new Uint8Array(bytes);
}

export class GraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  readonly inputs: onnx.IValueInfoProto[] = [];
  readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly used = new Set<string>();
  private readonly scalars = new Map<string, string>();
  private counter = 0;

  /** A value name not used before, readable in Netron: `<hint>_<n>`. */
  fresh(hint: string): string {
    let name: string;
    do {
      name = `${hint}_${this.counter++}`;
    } while (this.used.has(name));
    this.used.add(name);
    return name;
  }

  private claim(name: string): string {
    if (this.used.has(name)) throw new Error(`onnx builder: the name ${name} is used twice`);
    this.used.add(name);
    return name;
  }

  /** Adds a node with `outputs` fresh results (or the names given) and returns them. */
  opN(opType: string, inputs: string[], outputs: number | string[], attributes: Attr[] = [], hint = opType): string[] {
    const outs = typeof outputs === 'number'
      ? Array.from({ length: outputs }, () => this.fresh(hint))
      : outputs.map((n) => this.claim(n));
    this.nodes.push({ opType, input: inputs, output: outs, attribute: attributes, name: this.fresh(`${opType}_node`) });
    return outs;
  }

  op(opType: string, inputs: string[], attributes: Attr[] = [], hint = opType): string {
    return this.opN(opType, inputs, 1, attributes, hint)[0];
  }

  /** Like `op`, but the result gets exactly `name` (graph outputs). */
  opNamed(name: string, opType: string, inputs: string[], attributes: Attr[] = []): string {
    return this.opN(opType, inputs, [name], attributes)[0];
  }

  initFloat(hint: string, dims: number[], data: Float32Array): string {
    const size = dims.reduce((a, b) => a * b, 1);
    if (size !== data.length) throw new Error(`onnx builder: initializer ${hint} has ${data.length} values for dims ${JSON.stringify(dims)}`);
    const name = this.fresh(hint);
    this.initializers.push({ name, dims, dataType: DataType.FLOAT, rawData: littleEndianBytes(data) });
    return name;
  }

  initInt8(hint: string, dims: number[], data: Int8Array): string {
    return this.initBytes(hint, dims, DataType.INT8, data);
  }

  initUint8(hint: string, dims: number[], data: Uint8Array): string {
    return this.initBytes(hint, dims, DataType.UINT8, data);
  }

  private initBytes(hint: string, dims: number[], dataType: number, data: Int8Array | Uint8Array): string {
    const size = dims.reduce((a, b) => a * b, 1);
    if (size !== data.length) throw new Error(`onnx builder: initializer ${hint} has ${data.length} values for dims ${JSON.stringify(dims)}`);
    const name = this.fresh(hint);
    this.initializers.push({ name, dims, dataType, rawData: littleEndianBytes(data) });
    return name;
  }

  initInt64(hint: string, dims: number[], data: number[]): string {
    const name = this.fresh(hint);
    const values = BigInt64Array.from(data.map((v) => BigInt(v)));
    this.initializers.push({ name, dims, dataType: DataType.INT64, rawData: littleEndianBytes(values) });
    return name;
  }

  /** A 1-D int64 constant (shapes, axes, split sizes). */
  ints(hint: string, values: number[]): string {
    return this.initInt64(hint, [values.length], values);
  }

  /** A 0-D float32 constant, shared by every use of the same value. */
  scalar(value: number): string {
    const f = Math.fround(value);
    const key = Object.is(f, -0) ? '-0' : String(f);
    let name = this.scalars.get(key);
    if (name === undefined) {
      name = this.initFloat('const', [], new Float32Array([f]));
      this.scalars.set(key, name);
    }
    return name;
  }

  input(name: string, elemType: number, dims: Dim[]): string {
    this.inputs.push(valueInfo(this.claim(name), elemType, dims));
    return name;
  }

  output(name: string, elemType: number, dims: Dim[]): void {
    if (!this.used.has(name)) throw new Error(`onnx builder: output ${name} is not produced by any node`);
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  graph(name: string): onnx.IGraphProto {
    return { name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs };
  }
}

function valueInfo(name: string, elemType: number, dims: Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export { DataType };
