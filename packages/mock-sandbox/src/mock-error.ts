/** A refusal of the mock sandbox, answered as the real service's problem with this status and code. */
export class MockSandboxError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}
