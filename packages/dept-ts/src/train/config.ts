/** `dept-ts/train/config`: the training config and its defaults, without tfjs. */
export * from '@dept/train/config';
