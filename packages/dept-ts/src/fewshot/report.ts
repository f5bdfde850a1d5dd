/** `dept-ts/fewshot/report`: reports of grid folders (tables, CSV, charts), without tfjs. */
export * from '@dept/fewshot/report';
