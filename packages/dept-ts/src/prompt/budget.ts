/** `dept-ts/prompt/budget`: DePT's parameter budget (m·d + r·(s + d)), without tfjs. */
export * from '@dept/prompt/budget';
