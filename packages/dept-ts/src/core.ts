/** `dept-ts/core`: everything `@dept/core` exports. */
export * from '@dept/core';
