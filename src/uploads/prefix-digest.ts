import { createHash, type Hash } from 'node:crypto';
import { hashRange } from './file-checks.js';

/**
 * The running sha256 of a file's first `position` bytes, for one-pass tus uploads: each PATCH
 * hashes a fork of it while its bytes are sent, and the fork is adopted once the server
 * confirmed the chunk. When the server's offset is somewhere else (a resume, a half-received
 * PATCH) the prefix up to that offset is read and hashed locally, at disk speed, instead of
 * keeping a saved hash state (measured and chosen in docs/ARCHITECTURE.md, "Uploads").
 */
export class PrefixDigest {
  private hash: Hash = createHash('sha256');
  private position = 0;

  constructor(
    private readonly filePath: string,
    private readonly signal: AbortSignal,
  ) {}

  /** Makes the digest cover exactly bytes [0, offset), reading from disk what it lacks. */
  async moveTo(offset: number): Promise<void> {
    if (offset === this.position) return;
    if (offset < this.position) {
      this.hash = createHash('sha256');
      this.position = 0;
    }
    await hashRange(this.filePath, this.hash, this.position, offset, this.signal);
    this.position = offset;
  }

  /** A copy to feed the next chunk's bytes into while they are sent. */
  fork(): Hash {
    return this.hash.copy();
  }

  /** The fork was fed bytes up to `position` and the server confirmed them. */
  adopt(hash: Hash, position: number): void {
    this.hash = hash;
    this.position = position;
  }

  /** The whole-file digest once `position` is the file's size (hex). */
  digest(): string {
    return this.hash.copy().digest('hex');
  }
}
