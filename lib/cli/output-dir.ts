// Output locations of the CLI: a missing directory is created; one that cannot be is named in the error.
import * as fs from 'fs';
import * as path from 'path';
import { UsageError } from './config';

/** Creates `dir` (and its parents) unless it exists; throws a UsageError naming `flag`, the directory and the cause. */
export function ensureDirectory(dir: string, flag: string): void {
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory())
    throw new UsageError(`${flag}: ${path.resolve(dir)} exists and is not a directory; pass a directory`);
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new UsageError(`${flag}: cannot create the directory ${path.resolve(dir)} (${err.code ?? err.message}); ` +
      'pass a path in a directory you can write to');
  }
}

/** Creates the directory that will hold the file `file` (see ensureDirectory). */
export function ensureParentDirectory(file: string, flag: string): void {
  ensureDirectory(path.dirname(path.resolve(file)), flag);
}
