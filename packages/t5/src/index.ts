/**
 * @dept/t5: a frozen Hugging Face T5 on tfjs.
 *
 * 1. Config: `parseT5Config`, presets.
 * 2. Weights: names, validation, building tensors, random weights.
 * 3. The model: forward, loss, greedy decoding with a cache, label scoring.
 */
export {
  type T5Config, parseT5Config, t5ConfigToJson, t5ConfigJsonText, T5_PRESETS, presetConfig, t5ParameterCount, MAX_T5_LAYERS, MAX_T5_PARAMETERS,
} from './config.ts';
export { relativePositionBucket, bucketTable } from './buckets.ts';
export {
  type T5Weights, type BuildWeightsOptions, BOTH_LAYOUTS_MAX_BYTES, expectedTensorShapes, validateCheckpoint, buildT5Weights, disposeT5Weights,
  randomT5Tensors,
} from './weights.ts';
export {
  T5ForConditionalGeneration, type DropoutContext, type T5ForwardInputs, type T5ForwardOutputs,
} from './modeling.ts';
export { greedyGenerate, scoreCandidates, type GenerateOptions } from './generation.ts';
export { T5Tokenizer, buildDemoTokenizerJson, TOKENIZER_MODEL_TYPES, MAX_WORD_CHARS, MAX_TEXT_CHARS, type TokenBatch } from './tokenizer.ts';
export { loadPretrainedT5, t5FromParts, readT5Config, readT5Tokenizer, writeRandomT5, type PretrainedT5, type T5Parts, type WriteRandomT5Options } from './pretrained.ts';
export { fetchT5Model, cachedT5Model, T5_HUB_EXTRA_FILES, type FetchT5Options, type FetchedT5 } from './fetch.ts';
