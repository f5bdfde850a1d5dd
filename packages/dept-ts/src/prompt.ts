/** `dept-ts/prompt`: everything `@dept/prompt` exports. */
export * from '@dept/prompt';
