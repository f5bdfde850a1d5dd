/** `dept-ts/t5`: everything `@dept/t5` exports. */
export * from '@dept/t5';
