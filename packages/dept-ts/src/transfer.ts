/** `dept-ts/transfer`: everything `@dept/transfer` exports. */
export * from '@dept/transfer';
