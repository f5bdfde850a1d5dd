/** `dept-ts/pretrain`: everything `@dept/pretrain` exports. */
export * from '@dept/pretrain';
