/**
 * The ONNX protobuf messages, from the `onnx-proto` package: protobufjs code generated from
 * the official `onnx.proto3` of ONNX 1.10.2 (IR version 8, the version Bijective writes).
 * The package is CommonJS, so its namespace is taken from the default import and
 * re-exported under the usual name, as a value (`onnx.ModelProto.encode`) and as types
 * (`onnx.ITensorProto`).
 *
 * int64 fields: encoding takes numbers; decoding gives `Long` objects (protobufjs 6 with
 * `long` installed), which `inspect.ts` converts.
 */
import onnxProto from 'onnx-proto';

export import onnx = onnxProto.onnx;
