/** `dept-ts/train`: everything `@dept/train` exports. */
export * from '@dept/train';
