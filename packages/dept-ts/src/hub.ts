/** `dept-ts/hub`: everything `@dept/hub` exports. */
export * from '@dept/hub';
