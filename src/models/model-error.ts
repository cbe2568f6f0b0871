/** Bad model input (a missing file, a wrong shape or dtype, a digest mismatch): exit code 2. */
export class ModelInputError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = "ModelInputError";
  }
}
