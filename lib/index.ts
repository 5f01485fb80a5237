/** trm-node: Tiny Recursive Models for Node.js. */
export { loadModel, createModel, createOnnxModel, TrmModel } from './trm-model';
export { supportedIsas } from './backends/native';
export { cudaAvailable } from './backends/native';
export type { CudaAvailability } from './backends/native';
export { registerBackend, registeredBackends } from './backends/registry';
export type { BackendFactory, DeviceSupport, BackendSource } from './backends/registry';
export type { Backend, BackendResult, ResolvedLoadOptions } from './backends/backend';
export { exportOnnx, weightsFingerprint, ONNX_OPSET } from './onnx/exporter';
export type { ExportOptions, OnnxPrecision } from './onnx/exporter';
export { initialCarry } from './onnx/carry';
export { TrmError, ModelFormatError, MissingConfigError, InputError, OptionError, BackendError, DatasetError } from './errors';
export { parseConfig, modelDimensions } from './model/config';
export type { TrmConfig, ModelDimensions, PosEncoding } from './model/config';
export { readModelDirectory, writeModelDirectory } from './model/directory';
export type { ModelDirectory } from './model/directory';
export { quantizeModelDir } from './model/quantized-directory';
export type { QuantizeReport } from './model/quantized-directory';
export { QUANTIZATION_KEY, QUANTIZATION_SCHEME } from './model/quantize';
export type { WeightStorage } from './model/weights';
export type { WeightMap } from './model/weights';
export { randomWeights, randomConfig, createRandomModel } from './model/random';
export { SeededRandom } from './util/seeded-random';
export { readSafetensors, writeSafetensors } from './model/safetensors';
export { importCheckpoint } from './model/pytorch/import';
export type { ImportOptions, ImportResult } from './model/pytorch/import';
export { IMPORTED_FROM_KEY, RUN_CONFIG_FILE } from './model/pytorch/checkpoint';
export type { ImportedFrom } from './model/pytorch/checkpoint';
export { computeGradients, computeGradientsSync } from './train/gradients';
export type { GradientResult } from './train/gradients';
export { GradientEngine } from './train/engine';
export type { GradientEngineOptions, StepResult, ParameterInfo } from './train/engine';
export type { TrainBatch } from './train/batch';
export { Trainer } from './train/trainer';
export type { TrainerOptions, StepReport, HeldOutReport, TrainerState } from './train/trainer';
export { DEFAULT_RECIPE, resolveRecipe } from './train/recipe';
export type { TrainingRecipe } from './train/recipe';
export { learningRateAt } from './train/schedule';
export type { LearningRateSchedule } from './train/schedule';
export { saveCheckpoint, loadCheckpoint, TRAIN_STATE_FILE, TRAIN_STATE_JSON, TRAINING_KEY } from './train/checkpoint';
export type { TrainingDataSource, SavedRun } from './train/checkpoint';
export { buildTrainingData } from './train/data';
export { haltProbability, stopReason, nextUnchangedRun, replayStopping, STOP_REASONS } from './halting';
export type { HaltingPolicy } from './halting';
export { MAX_CYCLES } from './request';
export type {
  LoadOptions, InferInput, InferOptions, InferResult, TraceRecord, StopReason, Carry, ModelInfo, BackendName, Device, IsaName, Precision,
} from './types';
export {
  getTask, generateTrainTest, TASK_NAMES, SudokuTask, MazeTask, ComplianceTask, IGNORE_LABEL, exampleKey,
} from './tasks';
export type {
  Task, TaskName, TaskParams, AnyTaskOptions, Example, GenerateOptions, SudokuOptions, MazeOptions, ComplianceOptions, Clause,
} from './tasks';
export { readJsonlDataset, writeJsonlDataset } from './data/jsonl';
export type { ReadJsonlOptions } from './data/jsonl';
export { EVAL_SEED, TRAIN_DATA_KEY, checkTrainingSeed, heldOutSet, readTrainDataDescription } from './tasks/splits';
export type { TrainDataDescription, HeldOutOptions, HeldOutSet } from './tasks/splits';
export { scorePredictions, labelledConfidence, evaluateModel } from './evaluate';
export type { Score, EvalRun, EvaluateOptions } from './evaluate';
export { taskForModel, TASK_KEY, TASK_PARAMS_KEY } from './model-task';
export { NotFoundError, ConflictError, UnavailableError, LimitError, AuthError } from './errors';
export { createServer } from './serve/entry';
export type { ServerOptions, ServeContext, ServeApp } from './serve/server';
export { ModelRepository, LoadedVersion, shippedModels } from './serve/repository';
export type { RepositoryOptions, RepositoryObserver, ModelState, ModelSummary, IndexEntry } from './serve/repository';
export { DEFAULT_BATCH_SETTINGS } from './serve/batcher';
export type { BatchSettings, Samples } from './serve/batcher';
export { DEFAULT_LIMITS } from './serve/limits';
export type { ServeLimits, AuthMode, RouteAccess } from './serve/limits';
export { CURRENT_ALIAS, DEFAULT_KEEP_VERSIONS } from './serve/aliases';
