/** `dept-ts/tasks`: everything `@dept/tasks` exports. */
export * from '@dept/tasks';
