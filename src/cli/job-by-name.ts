import { type BitsManager, type JobInfo, normalizeJobId } from './bits-vocabulary.ts';

/**
 * The job a command line names, by GUID or display name, read without its file list unless
 * `files` asks for it (a /getstate of a 1,000-file job moved ~0.2 MB of JSON to print one word).
 */
export async function jobByName(manager: BitsManager, name: string, files = false): Promise<JobInfo> {
  const id = normalizeJobId(name);
  return id === null ? manager.findJob(name, { files }) : manager.getJob(id, { files });
}
