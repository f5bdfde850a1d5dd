/** `dept-ts/fewshot`: everything `@dept/fewshot` exports. */
export * from '@dept/fewshot';
