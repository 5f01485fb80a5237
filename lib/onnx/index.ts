/** The ONNX exporter: `exportOnnx` writes a TRM as a standard ONNX model; `initialCarry` is its starting carry. */
export {
  ONNX_OPSET, ONNX_IR_VERSION, MAX_EMBEDDED_WEIGHT_BYTES, OFFICIAL_CONFIG_KEYS, ONNX_FILE, ONNX_INT8_FILE, ONNX_PRECISIONS, exportOnnx, onnxFileName, weightsFingerprint,
} from './exporter';
export type { ExportOptions, OnnxPrecision } from './exporter';
export { initialCarry } from './carry';
export type { Carry } from './carry';
