#!/usr/bin/env node
// The `dept` command of the dept-ts package: @dept/cli's own entry (sources in a checkout, compiled code installed).
import '@dept/cli/bin';
