/** `dept-ts/t5/config`: T5 configs and presets, without tfjs. */
export * from '@dept/t5/config';
