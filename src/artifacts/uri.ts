/**
 * Artifact-store URIs, parsed without opening anything: this module loads no storage client,
 * so settings can be checked at startup cheaply.
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ArtifactError } from './errors.js';

export type ParsedArtifactUri = { readonly scheme: 'file'; readonly dir: string } | { readonly scheme: 's3'; readonly bucket: string; readonly prefix: string };

/** `file:///abs/dir` (or a plain absolute path) and `s3://bucket/prefix`. */
export function parseArtifactUri(uri: string): ParsedArtifactUri {
  if (typeof uri !== 'string' || uri === '') throw new ArtifactError('ARTIFACT_URI_INVALID', 'artifact store URI is empty; use file:///absolute/dir or s3://bucket/prefix');
  if (uri.startsWith('/')) return { scheme: 'file', dir: path.resolve(uri) };
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    throw new ArtifactError('ARTIFACT_URI_INVALID', `artifact store URI ${JSON.stringify(uri)} is not a URI; use file:///absolute/dir or s3://bucket/prefix`, uri);
  }
  if (u.protocol === 'file:') {
    if (u.host !== '' && u.host !== 'localhost') throw new ArtifactError('ARTIFACT_URI_INVALID', `file URI ${JSON.stringify(uri)} names a host; write file:///absolute/dir (three slashes)`, uri);
    return { scheme: 'file', dir: fileURLToPath(u) };
  }
  if (u.protocol === 's3:') {
    // Not u.host: URL lower-cases it, and a bucket name with capitals must be refused, not changed.
    const m = /^s3:\/\/([^/?#]*)\/?([^?#]*)$/.exec(uri);
    if (!m || m[1] === '') throw new ArtifactError('ARTIFACT_URI_INVALID', `S3 URI ${JSON.stringify(uri)} has no bucket; write s3://bucket/prefix`, uri);
    return { scheme: 's3', bucket: m[1], prefix: m[2] };
  }
  throw new ArtifactError('ARTIFACT_URI_INVALID', `artifact store URI ${JSON.stringify(uri)} has scheme ${u.protocol.replace(/:$/, '')}; supported are file:// and s3://`, uri);
}

/** `$TRAINYARD_HOME/artifacts` as a file URI; TRAINYARD_HOME defaults to ./.trainyard. */
export function defaultArtifactsUri(home: string = process.env.TRAINYARD_HOME || '.trainyard'): string {
  return pathToFileURL(path.resolve(home, 'artifacts') + path.sep).href;
}
