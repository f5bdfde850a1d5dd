/** `dept-ts/tensor`: everything `@dept/tensor` exports. */
export * from '@dept/tensor';
