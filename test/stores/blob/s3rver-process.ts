// The local S3 server of s3rver.ts in a process of its own, for tests where the server must go away
// mid-transfer as a crashed one does (SIGKILL): prints its endpoint on stdout, then serves.
import { startLocalS3 } from './s3rver.ts';

const s3 = await startLocalS3(process.argv.slice(2));
process.stdout.write(`${s3.endpoint}\n`);
