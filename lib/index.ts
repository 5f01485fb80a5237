/** trm-node: Tiny Recursive Models for Node.js. */
export { loadModel, createModel, createOnnxModel, TrmModel } from './trm-model';
export { supportedIsas } from './backends/native';
export { cudaAvailable } from './backends/cuda';
export type { CudaAvailability } from './backends/cuda';
export { exportOnnx, weightsFingerprint, ONNX_OPSET } from './onnx/exporter';
export { initialCarry } from './onnx/carry';
export { TrmError, ModelFormatError, InputError, OptionError, BackendError, DatasetError, LimitError } from './errors';
export { parseConfig, modelDimensions } from './model/config';
export type { TrmConfig, ModelDimensions, PosEncoding } from './model/config';
export { readModelDirectory, writeModelDirectory } from './model/directory';
export type { WeightMap } from './model/weights';
export { randomWeights, randomConfig, createRandomModel, SeededRandom } from './model/random';
export { readSafetensors, writeSafetensors } from './model/safetensors';
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
export { haltProbability, shouldHalt } from './halting';
export type { HaltingPolicy } from './halting';
export type {
  LoadOptions, InferInput, InferOptions, InferResult, TraceRecord, Carry, ModelInfo, ModelLimits, BackendName, Device, IsaName, Precision,
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
